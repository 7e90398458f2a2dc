"""drawart.config: defaults, the JSON round trip, strict parsing and validation."""

import json
import math
from dataclasses import replace

import pytest

from drawart.config import ImageConfig, ModelConfig, RunConfig, TrainConfig


def custom_config() -> RunConfig:
    """A config where every section differs from the defaults."""
    return RunConfig(
        model=ModelConfig(
            height=40,
            width=24,
            channels=3,
            glimpses=7,
            read_n=3,
            write_n=9,
            attention=False,
            hidden=64,
            z=8,
            window="paper",
            max_window=0.5,
            block_in=2,
        ),
        train=TrainConfig(
            steps=123,
            lr=2.5e-4,
            lr_decay_steps=999,
            batch=4,
            clip_norm=1.5,
            seed=42,
            checkpoint_every=10,
            keep_checkpoints=2,
            steps_per_call=5,
            unroll=2,
            jit_compile=False,
            gif_every=100,
        ),
        image=ImageConfig(path="some/pic.png", digest="ab" * 32, size=40, gray=False),
        versions={"python": "3.11.0", "numpy": "1.26.4"},
    )


# ---------------------------------------------------------------------------------------------
# Round trip


@pytest.mark.parametrize("config", [RunConfig(), custom_config()], ids=["defaults", "custom"])
def test_round_trip_through_dict(config):
    data = config.to_dict()
    assert set(data) == {"model", "train", "image", "versions"}
    assert RunConfig.from_dict(data) == config


@pytest.mark.parametrize("config", [RunConfig(), custom_config()], ids=["defaults", "custom"])
def test_round_trip_through_json(config):
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert type(again.train.lr) is float
    assert type(again.model.attention) is bool


def test_to_dict_holds_the_values():
    data = custom_config().to_dict()
    assert data["model"]["glimpses"] == 7
    assert data["train"]["lr"] == 2.5e-4
    assert data["image"]["digest"] == "ab" * 32
    assert data["versions"] == {"python": "3.11.0", "numpy": "1.26.4"}


def test_missing_sections_and_fields_take_defaults_but_fields_added_later_take_the_old_behaviour():
    # A config.json without the window fields was written by 0.1.0, which drew with the paper's window.
    # Before 0.4.0 a run drew from its weights, not from their moving average.
    # Before 0.5.0 a glimpse's write could leave the image or fade to nothing; 0.5.0 confined it
    # to a tenth of its bound and log γ to ±2.
    old = ModelConfig(
        window="paper",
        max_window=1.0,
        block_in=0,
        taper=0,
        confined=False,
        window_floor=0.1,
        gamma_range=2.0,
        window_rate=1.0,
        canvas_loss=0.0,
    )
    old_train = TrainConfig(ema=0.0)
    assert RunConfig.from_dict({}) == RunConfig(model=old, train=old_train)
    partial = RunConfig.from_dict({"model": {"glimpses": 5}, "train": {"lr": 1e-3}})
    assert partial.model == replace(old, glimpses=5)
    assert partial.train == replace(old_train, lr=1e-3)
    assert RunConfig().train.ema == 0.99
    # 0.2.0 wrote local windows but knew no taper: its bound narrowed in one step.
    written_by_0_2_0 = {"model": {"window": "local", "max_window": 0.3, "block_in": 8}}
    assert RunConfig.from_dict(written_by_0_2_0).model == replace(
        RunConfig().model, taper=0, confined=False, window_floor=0.1, gamma_range=2.0, window_rate=1.0
    )
    assert RunConfig().model.confined is True
    written_by_0_5_0 = {"model": {"window": "local", "max_window": 0.3, "block_in": 8, "taper": 8, "confined": True}}
    assert RunConfig.from_dict(written_by_0_5_0).model == replace(
        RunConfig().model, window_floor=0.1, gamma_range=2.0, window_rate=1.0
    )
    assert (RunConfig().model.window_floor, RunConfig().model.gamma_range) == (0.1, 0.5)
    # Every run before the canvas loss existed scored only the last canvas, as the paper does.
    assert RunConfig.from_dict(written_by_0_5_0).model.canvas_loss == 0.0
    # ... and moved its windows at the rate of the rest of the network.
    assert RunConfig.from_dict(written_by_0_5_0).model.window_rate == 1.0
    # ... and charged nothing for a window past its limits.
    assert RunConfig.from_dict(written_by_0_5_0).model.window_margin == 0.0
    # Present, they are read as written.
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()
    assert RunConfig().model.window == "local"


# ---------------------------------------------------------------------------------------------
# Strict parsing


@pytest.mark.parametrize("section", ["model", "train", "image"])
def test_unknown_field_is_rejected_by_name(section):
    data = RunConfig().to_dict()
    data[section]["typo_field"] = 1
    with pytest.raises(ValueError, match="typo_field"):
        RunConfig.from_dict(data)


def test_unknown_section_is_rejected_by_name():
    data = RunConfig().to_dict()
    data["modle"] = {"glimpses": 3}
    with pytest.raises(ValueError, match="modle"):
        RunConfig.from_dict(data)


@pytest.mark.parametrize("value", [[], ["glimpses"], "glimpses", 5, None])
def test_section_that_is_not_an_object_is_a_value_error(value):
    with pytest.raises(ValueError, match="ModelConfig"):
        RunConfig.from_dict({"model": value})


@pytest.mark.parametrize(
    "section, name, value",
    [
        ("model", "glimpses", "32"),
        ("model", "attention", 1),
        ("model", "glimpses", 32.0),
        ("model", "hidden", True),  # bool is an int subclass, but not an int here
        ("train", "lr", "0.001"),
        ("train", "lr", True),
        ("train", "jit_compile", "yes"),
        ("image", "gray", 0),
        ("image", "size", None),
        ("image", "digest", 123),
    ],
)
def test_wrong_type_is_rejected_naming_the_field(section, name, value):
    data = RunConfig().to_dict()
    data[section][name] = value
    with pytest.raises(ValueError, match=rf"\.{name} should be"):
        RunConfig.from_dict(data)


def test_int_is_accepted_for_a_float_field():
    data = RunConfig().to_dict()
    data["train"]["lr"] = 1
    data["train"]["clip_norm"] = 3
    config = RunConfig.from_dict(data)
    assert config.train.lr == 1.0 and type(config.train.lr) is float
    assert config.train.clip_norm == 3.0 and type(config.train.clip_norm) is float


# ---------------------------------------------------------------------------------------------
# Validation


def test_defaults_are_valid():
    ModelConfig().validate()
    TrainConfig().validate()
    custom = custom_config()
    custom.model.validate()
    custom.train.validate()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"channels": 2}, "channels"),
        ({"channels": 0}, "channels"),
        ({"read_n": 1}, "read_n"),
        ({"write_n": 1}, "write_n"),
        ({"height": 0}, "height"),
        ({"width": 0}, "width"),
        ({"glimpses": 0}, "glimpses"),
        ({"hidden": 0}, "hidden"),
        ({"z": 0}, "z"),
        ({"window": "square"}, "window"),
        ({"max_window": 0.0}, "max_window"),
        ({"max_window": 1.5}, "max_window"),
        ({"max_window": float("nan")}, "max_window"),
        ({"block_in": -1}, "block_in"),
        ({"window_floor": -0.1}, "window_floor"),
        ({"window_floor": 1.5}, "window_floor"),
        ({"window_floor": float("nan")}, "window_floor"),
        ({"gamma_range": 0.0}, "gamma_range"),
        ({"gamma_range": float("nan")}, "gamma_range"),
        ({"canvas_loss": -0.5}, "canvas_loss"),
        ({"window_rate": 0.0}, "window_rate"),
        ({"window_margin": -0.1}, "window_margin"),
        ({"canvas_loss": float("nan")}, "canvas_loss"),
    ],
)
def test_model_validate_rejects(changes, field):
    with pytest.raises(ValueError, match=rf"^{field} must"):
        replace(ModelConfig(), **changes).validate()


def test_small_filterbank_is_fine_without_attention():
    ModelConfig(attention=False, read_n=1, write_n=1).validate()
    with pytest.raises(ValueError, match="read_n"):
        ModelConfig(attention=True, read_n=1).validate()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"steps": 0}, "steps"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"batch": 0}, "batch"),
        ({"lr_decay_steps": 0}, "lr_decay_steps"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"keep_checkpoints": 0}, "keep_checkpoints"),
        ({"steps_per_call": 0}, "steps_per_call"),
        ({"unroll": 0}, "unroll"),
        ({"gif_every": -1}, "gif_every"),
        ({"ema": 1.0}, "ema"),
        ({"ema": -0.1}, "ema"),
        ({"ema": float("nan")}, "ema"),
    ],
)
def test_train_validate_rejects(changes, field):
    with pytest.raises(ValueError, match=rf"^{field} must"):
        replace(TrainConfig(), **changes).validate()


def test_train_validate_accepts_edges():
    TrainConfig(steps=1, gif_every=0, lr=1e-12, keep_checkpoints=1, ema=0.0).validate()


def test_the_milestone_default_is_a_round_twentieth_of_the_steps():
    from drawart.config import milestone_every

    for steps in [1, 7, 19, 20, 33, 150, 999, 4_000, 20_000, 64_321, 1_000_000, 12_345_678]:
        every = milestone_every(steps)
        mantissa = every / 10 ** math.floor(math.log10(every))
        assert mantissa in (1, 2, 5), (steps, every)
        assert every == 1 or 1 / 1.6 <= every / (steps / 20) <= 1.6, (steps, every)  # the nearest round value
