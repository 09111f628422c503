"""``transformer-spec train``: end-to-end translation training with the paper's recipe (§5, §6.1).

Prints the declared recipe deviations and the sacreBLEU signature; the last
stdout line is one JSON object with the scores.  A tqdm progress bar goes to stderr.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.commands.options import existing_folder, positive, writable_folder
from transformer_spec.translation.presets import PRESETS

SUMMARY_KEYS = ("bleu", "exact_match", "chrf", "greedy_bleu", "greedy_exact_match", "teacher_forced_accuracy",
                "leak_check_passed", "train_seconds", "total_seconds", "steps", "stopped_by", "device", "threads",
                "seed", "preset", "variant", "bleu_signature")


def check_options(args: argparse.Namespace) -> None:
    """What can be checked before training: the numbers, the folders, then the model variant."""
    for option, value in (("--time-budget", args.time_budget), ("--max-steps", args.max_steps),
                          ("--threads", args.threads)):
        positive(option, value)
    existing_folder("--corpus", args.corpus)
    if args.out is not None:
        writable_folder("--out", args.out)
    from transformer_spec.translation.variants import VARIANTS
    if args.variant not in VARIANTS:
        raise SpecUsageError("--variant", args.variant, f"choose one of {', '.join(VARIANTS)}")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    from transformer_spec.translation.run import RunOptions, train_and_evaluate
    options = RunOptions(preset=args.preset, seed=args.seed, device=args.device, corpus=args.corpus,
                         time_budget=args.time_budget, max_steps=args.max_steps, out=args.out, variant=args.variant,
                         progress=not args.no_progress, threads=args.threads)
    scores = train_and_evaluate(options)
    print(json.dumps({key: scores[key] for key in SUMMARY_KEYS}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train and evaluate a translation model end to end")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="smoke", help="run recipe (default smoke)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, weights, dropout and batch order")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="directory of <split>.<lang>[.gz] files (default: ../shared/data/multi30k "
                             "from the project's folder)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds of training (default: the preset's)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="most training updates (default: the preset's)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: runs/<preset> in the project's folder)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the preset's)")
    parser.add_argument("--variant", default="paper", metavar="NAME",
                        help="an ablated model for negative controls, one of those of "
                             "transformer_spec/translation/variants.py (default: paper, the paper's model)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)
