"""Every rule that keeps a run made by an earlier release drawing as that release drew.

A run's config.json holds the fields its release knew. A field added later must, when absent,
take the value that reproduces what that release did, never today's default: runs are users'
work. `config.RunConfig.from_dict` fills absent fields from here; `tests/test_legacy_run.py`
holds a tiny run of every release (tests/data/run-VERSION) to what that release drew.
"""

# What a run written before a field existed gets for it: the value that reproduces what that
# release did. A new default must never reach an old run silently (drawart 0.1.0 knew only the
# paper's window; 0.2.0 had local windows but no taper, so its bound narrowed in one step; before
# 0.4.0 a run drew from its weights, not from their moving average; before 0.5.0 a write window
# could leave the image, fade or shrink to nothing; 0.5.0 confined a write to at least a tenth of
# its bound and log γ to ±2; 0.6.0 to half its bound and ±0.5, values its config.json records;
# before 0.8.0 only the last canvas was scored, as in the paper, and the windows learnt at the
# rate of the rest of the network).
ABSENT = {
    "ModelConfig": {
        "window": "paper",
        "max_window": 1.0,
        "block_in": 0,
        "taper": 0,
        "confined": False,
        "window_floor": 0.1,
        "gamma_range": 2.0,
        "canvas_loss": 0.0,
        "window_rate": 1.0,
        "window_margin": 0.0,
    },
    "TrainConfig": {"ema": 0.0},
    "RenderConfig": {"smooth": False},
}

# The paper's window has no bound and no block-in: a paper run stores these, as 0.1.0 runs read.
PAPER_WINDOW = ABSENT["ModelConfig"]
