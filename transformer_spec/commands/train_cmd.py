"""``transformer-spec train``: end-to-end translation training with the paper's recipe (§5, §6.1).

Prints the declared recipe deviations and the sacreBLEU signature; the last
stdout line is one JSON object with the scores.  A tqdm progress bar goes to stderr.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

from transformer_spec.translation.presets import PRESETS
from transformer_spec.translation.run import DEFAULT_CORPUS, RunOptions, train_and_evaluate
from transformer_spec.translation.variants import VARIANTS

SUMMARY_KEYS = ("bleu", "exact_match", "chrf", "greedy_bleu", "greedy_exact_match", "teacher_forced_accuracy",
                "leak_check_passed", "train_seconds", "total_seconds", "steps", "stopped_by", "device", "threads",
                "seed", "preset", "variant", "bleu_signature")


def _positive(kind: type) -> Callable[[str], float | int]:
    """An argparse type: a positive number of ``kind`` (argparse turns the error into a usage error)."""
    def parse(text: str) -> float | int:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not positive")
        return value
    return parse


def run(args: argparse.Namespace) -> int:
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
                        help=f"directory of <split>.<lang>[.gz] files (default {DEFAULT_CORPUS})")
    parser.add_argument("--time-budget", type=_positive(float), default=None,
                        help="seconds of training (default: the preset's)")
    parser.add_argument("--max-steps", type=_positive(int), default=None,
                        help="most training updates (default: the preset's)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default runs/<preset>)")
    parser.add_argument("--threads", type=_positive(int), default=None,
                        help="torch CPU threads (default: the preset's)")
    parser.add_argument("--variant", choices=tuple(VARIANTS), default="paper",
                        help="an ablated model for negative controls (default: the paper's model)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)
