"""``gradzoo sample`` on a generative run writes valid PNG pictures and prints their paths."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradzoo.cli import forget_plugins, main
from gradzoo.lab import sampling
from gradzoo.lab.pictures import figures
from gradzoo.lab.pictures.generative import samples_over_data
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import get_registry

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY = {"vae": {"width": 8}, "diffusion": {"width": 8, "timesteps": 10},
        "gan": {"width": 8}, "flow": {"width": 8, "couplings": 2}}
PICTURES = {  # what each model draws, on 2-D points and on images
    ("vae", "moons"): {"samples.png", "latent.png"},
    ("diffusion", "moons"): {"samples.png", "trajectory.png"},
    ("gan", "moons"): {"samples.png", "discriminator.png"},
    ("flow", "moons"): {"samples.png", "density.png"},
    ("vae", "shapes"): {"samples.png", "latent.png", "reconstructions.png"},
    ("diffusion", "shapes"): {"samples.png", "trajectory.png"},
    ("gan", "shapes"): {"samples.png"},
    ("flow", "shapes"): {"samples.png"},
}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file, checking the signature and CRC."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG file"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert crc == zlib.crc32(kind + header), f"{path}: IHDR checksum does not match"
    assert data.endswith(b"IEND\xaeB`\x82"), f"{path} is cut off (no IEND chunk)"
    return struct.unpack(">II", header[:8])


def tiny_run(model, task, run_dir, steps=2):
    options = {**TINY[model], **({"size": 8} if task == "shapes" else {})}
    training = {"steps": steps, "warmup": 1, "eval_every": 1000, "batch_size": 32}
    exp = build_experiment(get_registry(), model, task, options, seed=0, training=training)
    trainer = Trainer(exp, run_dir, progress=False)
    trainer.start()
    trainer.train()
    return run_dir


@pytest.mark.parametrize("model, task", sorted(PICTURES), ids=lambda v: v)
def test_sample_writes_the_pictures_each_model_offers(model, task, tmp_path):
    run_dir = tiny_run(model, task, tmp_path / "run")
    lines = sampling.sample_run(get_registry(), run_dir, count=40)
    paths = [Path(line.split("  (")[0]) for line in lines]
    assert {p.name for p in paths} == PICTURES[(model, task)]
    for path in paths:
        assert path.parent == run_dir / "samples"
        width, height = png_size(path)
        assert width > 100 and height > 50
    assert not list((run_dir / "samples").glob(".*"))  # no temporary file left behind


def test_the_cli_prints_the_paths_and_n_sets_the_number_of_samples(tmp_path):
    run_dir = tiny_run("diffusion", "moons", tmp_path / "run")
    forget_plugins()
    try:
        result = CliRunner().invoke(main, ["sample", str(run_dir), "--n", "25"])
    finally:
        forget_plugins()
    assert result.exit_code == 0, result.output
    samples_line = f"{run_dir / 'samples' / 'samples.png'}  (25 samples over 25 test points)"
    assert samples_line in result.output
    assert "trajectory.png  (the denoising trajectory of 25 samples, 6 snapshots)" in result.output


def test_a_picture_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A failure while drawing leaves neither the picture nor a temporary file."""
    figure = figures.new_figure(3.6, 3.6)

    def broken_savefig(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        figures.save_figure(figure, tmp_path / "picture.png")
    assert list(tmp_path.iterdir()) == []


def test_matplotlib_can_read_what_we_write(tmp_path):
    from matplotlib.image import imread

    data = np.random.default_rng(0).normal(size=(50, 2))
    path = samples_over_data(tmp_path / "s.png", data + 1, data, "title")
    image = imread(path)
    assert image.ndim == 3 and image.shape[:2][::-1] == png_size(path)
    assert image[..., :3].std() > 0.01                   # not a blank canvas
