"""A seeded toy language pair whose translation needs alignment, not copying.

Source (English-like, SVO)::

    S  -> NP V NP [PP]            PP -> P NP
    NP -> Det Adj* N [that V NP]  (the relative clause nests once at most)

Target (SOV, head-final)::

    S'  -> [PP'] NP' SUBJ NP' OBJ V'     PP' -> NP' P'   (the PP moves to the front)
    NP' -> [NP' OBJ V' REL] N' Adj'* Det' (relative clause before the noun,
                                            adjectives mirrored, determiner post-posed)

Every source word has a seeded target phrase (a bijective lexicon); some
phrases are two tokens long, so output and input lengths differ.  SUBJ, OBJ
and REL are case/relative marker tokens.  Held-out sentences are disjoint from
the training ones by exact source string.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.corpus import ParallelCorpus

DETERMINERS = ("the", "a", "every", "this")
ADJECTIVES = ("big", "small", "red", "old", "happy", "quiet")
NOUNS = ("dog", "cat", "bird", "child", "farmer", "teacher", "horse", "fish")
VERBS = ("sees", "likes", "follows", "helps", "finds", "hears")
PREPOSITIONS = ("near", "behind", "under", "with")
MARKERS = ("<subj>", "<obj>", "<rel>")
_SYLLABLES = tuple(c + v for c in "bdgkmnprstvz" for v in "aeiou")


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes and shape of the toy task."""

    n_train: int = 6000
    n_valid: int = 200
    n_test: int = 200
    max_adjectives: int = 2
    p_relative: float = 0.2  # chance that a top-level NP carries a relative clause
    p_pp: float = 0.4  # chance of a sentence-final prepositional phrase
    p_two_tokens: float = 0.25  # share of source words translated by two target tokens


@dataclass(frozen=True)
class SyntheticTask:
    """The generated splits and the lexicon that produced them."""

    lexicon: dict[str, tuple[str, ...]]
    train: ParallelCorpus
    valid: ParallelCorpus
    test: ParallelCorpus


@dataclass(frozen=True)
class _NP:
    det: str
    adjs: tuple[str, ...]
    noun: str
    relative: tuple[str, "_NP"] | None = field(default=None)  # (verb, object NP)


def make_lexicon(rng: random.Random, p_two_tokens: float) -> dict[str, tuple[str, ...]]:
    """A bijective map from source words and markers to distinct target phrases (one or two tokens)."""
    words = DETERMINERS + ADJECTIVES + NOUNS + VERBS + PREPOSITIONS + MARKERS
    forms = sorted({"".join(rng.sample(_SYLLABLES, 2)) for _ in range(4 * len(words))})
    rng.shuffle(forms)
    lexicon: dict[str, tuple[str, ...]] = {}
    for word in words:
        size = 2 if word not in MARKERS and rng.random() < p_two_tokens else 1
        lexicon[word] = tuple(forms.pop() for _ in range(size))
    return lexicon


def _noun_phrase(rng: random.Random, spec: SyntheticSpec, nested: bool) -> _NP:
    adjs = tuple(rng.sample(ADJECTIVES, rng.randint(0, spec.max_adjectives)))
    relative = None
    if not nested and rng.random() < spec.p_relative:
        relative = (rng.choice(VERBS), _noun_phrase(rng, spec, nested=True))
    return _NP(rng.choice(DETERMINERS), adjs, rng.choice(NOUNS), relative)


def _source_np(np_: _NP) -> list[str]:
    words = [np_.det, *np_.adjs, np_.noun]
    if np_.relative:
        words += ["that", np_.relative[0], *_source_np(np_.relative[1])]
    return words


def _target_np(np_: _NP, lexicon: dict[str, tuple[str, ...]]) -> list[str]:
    words: list[str] = []
    if np_.relative:
        verb, obj = np_.relative
        words += [*_target_np(obj, lexicon), "<obj>", verb, "<rel>"]
    words += [np_.noun, *reversed(np_.adjs), np_.det]
    return words


def _sentence(rng: random.Random, spec: SyntheticSpec, lexicon: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    subj, verb, obj = _noun_phrase(rng, spec, False), rng.choice(VERBS), _noun_phrase(rng, spec, False)
    source = [*_source_np(subj), verb, *_source_np(obj)]
    target = [*_target_np(subj, lexicon), "<subj>", *_target_np(obj, lexicon), "<obj>", verb]
    if rng.random() < spec.p_pp:
        prep, pobj = rng.choice(PREPOSITIONS), _noun_phrase(rng, spec, True)
        source += [prep, *_source_np(pobj)]
        target = [*_target_np(pobj, lexicon), prep, *target]
    return " ".join(source), " ".join(token for word in target for token in lexicon[word])


def generate(seed: int, spec: SyntheticSpec = SyntheticSpec()) -> SyntheticTask:
    """Draw distinct sentence pairs and split them into train, valid and test (disjoint by source)."""
    rng = random.Random(seed)
    lexicon = make_lexicon(rng, spec.p_two_tokens)
    wanted, pairs = spec.n_train + spec.n_valid + spec.n_test, {}
    for _ in range(20 * wanted):
        source, target = _sentence(rng, spec, lexicon)
        pairs.setdefault(source, target)
        if len(pairs) == wanted:
            break
    else:
        raise SpecUsageError("spec", spec, f"the grammar gave only {len(pairs)} distinct sentences")
    order = list(pairs.items())
    cut = (spec.n_test, spec.n_test + spec.n_valid)
    split = lambda chunk: ParallelCorpus(tuple(s for s, _ in chunk), tuple(t for _, t in chunk))
    return SyntheticTask(lexicon, split(order[cut[1]:]), split(order[cut[0]:cut[1]]), split(order[:cut[0]]))
