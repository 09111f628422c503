"""The synthetic task: seeded, reordering, held-out disjoint."""
from __future__ import annotations

from transformer_spec.translation.synthetic import MARKERS, VERBS, SyntheticSpec, generate

SPEC = SyntheticSpec(n_train=400, n_valid=50, n_test=50)


def _back_translate(target: str, lexicon: dict[str, tuple[str, ...]]) -> list[str]:
    """Map target tokens back to the source words they translate (markers included)."""
    inverse = {phrase[0]: (word, len(phrase)) for word, phrase in lexicon.items()}
    tokens, words = target.split(), []
    while tokens:
        word, size = inverse[tokens[0]]
        assert tuple(tokens[:size]) == lexicon[word]
        words, tokens = words + [word], tokens[size:]
    return words


def test_generation_is_seeded():
    assert generate(3, SPEC) == generate(3, SPEC)
    assert generate(3, SPEC).train != generate(4, SPEC).train


def test_held_out_sources_are_disjoint_from_training():
    task = generate(0, SPEC)
    train, valid, test = set(task.train.source), set(task.valid.source), set(task.test.source)
    assert (len(train), len(valid), len(test)) == (400, 50, 50)
    assert not train & test and not train & valid and not valid & test


def test_lexicon_is_bijective_with_two_token_phrases():
    lexicon = generate(0, SPEC).lexicon
    tokens = [t for phrase in lexicon.values() for t in phrase]
    assert len(tokens) == len(set(tokens))
    assert any(len(p) == 2 for p in lexicon.values())


def test_translation_reorders_and_is_not_a_copy():
    task = generate(0, SPEC)
    non_monotone, length_differs = 0, 0
    for source, target in zip(task.train.source, task.train.target):
        words = source.split()
        assert target.split() != words
        content = [w for w in _back_translate(target, task.lexicon) if w not in MARKERS]
        assert sorted(content) == sorted(w for w in words if w != "that")
        non_monotone += content != [w for w in words if w != "that"]
        length_differs += len(target.split()) != len(words)
        assert content[-1] in VERBS
    assert non_monotone == len(task.train) and length_differs == len(task.train)


def test_prepositional_phrase_moves_to_the_front():
    task = generate(0, SPEC)
    with_pp = [(s, t) for s, t in zip(task.train.source, task.train.target)
               if any(p in s.split() for p in ("near", "behind", "under", "with"))]
    assert len(with_pp) > 100
    for source, target in with_pp:
        back = _back_translate(target, task.lexicon)
        prep = next(w for w in back if w in ("near", "behind", "under", "with"))
        assert back.index(prep) < back.index("<subj>")
        assert source.split().index(prep) > 2
