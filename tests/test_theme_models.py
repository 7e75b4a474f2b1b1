"""One theme's stacked model and the neighbour vote it shares with the other themes."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.theme_models import NeighbourVotes, ThemeStack, neighbour_votes, unit_rows

rng = np.random.default_rng(0)
VECTORS = unit_rows(rng.normal(size=(40, 8)))
LABELS = (VECTORS[:, :2] > 0).astype(np.int8)  # two "themes" decided by two directions


def test_a_labelled_passage_votes_for_its_own_labels() -> None:
    votes = neighbour_votes(VECTORS, VECTORS, LABELS, k=5)
    assert votes.shape == (40, 2) and ((votes >= 0) & (votes <= 1)).all()
    assert ((votes > 0.5) == LABELS.astype(bool)).mean() > 0.9


def test_among_leaves_the_others_out() -> None:
    among = np.arange(20, 40)
    votes = neighbour_votes(VECTORS[:1], VECTORS, LABELS, k=1, among=among)
    nearest = among[np.argmax(VECTORS[among] @ VECTORS[0])]
    assert votes[0].tolist() == LABELS[nearest].tolist()


def test_k_larger_than_the_references_is_all_of_them() -> None:
    votes = neighbour_votes(VECTORS[:3], VECTORS[:4], LABELS[:4], k=50)
    assert votes.shape == (3, 2)


@pytest.mark.parametrize("neighbours", [True, False])
def test_a_theme_stack_gives_probabilities(neighbours: bool) -> None:
    shared = NeighbourVotes(VECTORS, LABELS, 5) if neighbours else None
    stack = ThemeStack(0, 1.0, 5).fit(VECTORS, LABELS, shared)
    votes = shared.votes(VECTORS) if shared else None
    p = stack.predict_proba(VECTORS, votes)
    assert p.shape == (40, 2) and np.allclose(p.sum(axis=1), 1.0)
    assert ((p[:, 1] >= 0.5) == LABELS[:, 0].astype(bool)).mean() > 0.8
    assert stack.word_coefficients(3).shape == (3,)


def test_a_stack_with_neighbours_needs_their_votes() -> None:
    stack = ThemeStack(1, 1.0, 5).fit(VECTORS, LABELS, NeighbourVotes(VECTORS, LABELS, 5))
    with pytest.raises(ValueError, match="votes by neighbours: pass their votes"):
        stack.predict_proba(VECTORS)
