"""drawart.batches: the held-out split, the shuffled batch of every step, what GIFs show."""

import numpy as np
import pytest

from drawart.batches import BatchPlan, TrainingData, held_out_count, split


@pytest.mark.parametrize("count, fraction, held", [(100, 0.1, 10), (7, 0.0, 0), (7, 0.01, 1), (3, 0.5, 2)])
def test_split_holds_out_the_fraction_asked_and_never_none_when_asked(count, fraction, held):
    train, val = split(count, fraction, seed=0)
    assert held_out_count(count, fraction) == len(val) == held
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(count))  # disjoint, complete
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


def test_split_follows_the_seed():
    first, again, other = (split(50, 0.2, seed)[1] for seed in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_every_epoch_is_a_fresh_shuffle_of_the_training_images():
    images = np.array([3, 5, 8, 13, 21, 34, 55, 89, 144, 233])
    plan = BatchPlan(images, batch=3, seed=4)
    assert plan.steps_per_epoch == 3  # the last image of each shuffle is dropped
    epochs = [np.concatenate([plan.indices(e * 3 + p) for p in range(3)]) for e in range(3)]
    for seen in epochs:
        assert len(set(seen.tolist())) == 9 and set(seen.tolist()) <= set(images.tolist())
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_a_step_sees_the_same_batch_whatever_came_before():
    # What makes resuming exact: no state, only (seed, step).
    fresh = BatchPlan(np.arange(20), batch=4, seed=9)
    walked = BatchPlan(np.arange(20), batch=4, seed=9)
    for step in range(13):
        walked.indices(step)
    np.testing.assert_array_equal(fresh.indices(13), walked.indices(13))
    assert not np.array_equal(BatchPlan(np.arange(20), batch=4, seed=8).indices(13), fresh.indices(13))


def test_one_image_fills_every_slot():
    plan = BatchPlan(np.array([0]), batch=3, seed=0)
    np.testing.assert_array_equal(plan.chunk(5, 2, 4), np.zeros((4, 3), int))


def test_a_chunk_pads_its_unused_slots_with_its_last_step():
    plan = BatchPlan(np.arange(12), batch=2, seed=1)
    chunk = plan.chunk(4, 3, 5)
    assert chunk.shape == (5, 2)
    for row, step in zip(chunk, [4, 5, 6, 6, 6]):
        np.testing.assert_array_equal(row, plan.indices(step))
    with pytest.raises(ValueError):
        plan.chunk(0, 6, 5)


def test_shown_is_the_picture_or_the_first_held_out_images():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    picture = TrainingData.prepare(images[:1], 0.0, 0, single=True)
    assert picture.shown(16).shape == (1, 1, 1)
    data = TrainingData.prepare(images, 0.3, 0, single=False)
    np.testing.assert_array_equal(data.shown(2)[:, 0, 0, 0], data.held_out[:2])
    everything = TrainingData.prepare(images, 0.0, 0, single=False)
    assert everything.shown(16).shape == (10, 1, 1, 1)  # none held out: the training images, up to 16


def test_a_split_that_leaves_nothing_to_train_on_is_refused():
    with pytest.raises(ValueError, match="none to train on"):
        TrainingData.prepare(np.zeros((1, 4, 4, 1)), 0.5, 0, single=False)
