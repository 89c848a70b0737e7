"""Train, follow and package the shipped default model (issue 16) on the CPU route, resumable across sessions.

One command per step (run from the repository root):
  .venv/bin/python experiments/default_model.py train  [--run DIR]   # start, or --resume when DIR/last exists;
                                                                    # detached (setsid, nice 5), logs in DIR
  .venv/bin/python experiments/default_model.py status [--run DIR]   # epochs, steps, loss, val Dice, s/step, ETA
  .venv/bin/python experiments/default_model.py stop   [--run DIR]   # end the detached run (resume later)
  .venv/bin/python experiments/default_model.py package [--run DIR] [--checkpoint best|last]
                                                                    # → src/medvlseg/resources/models/default/
Logs a person can plot or tail: DIR/log.csv (one row per epoch), DIR/train.log (text log), DIR/progress.log
(tqdm bar with ETA), DIR/route.json (route, hardware, git commit and wall time of every launch).
The run's records (config, log.csv, route.json) and its last checkpoint are what a later session resumes from.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "default.yaml"
RUN = ROOT / "experiments" / "default_model" / "run"


def _now() -> str:
    """UTC time stamp, seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _hardware() -> dict:
    """What this launch runs on (CPU count, memory, GPU name if any)."""
    import torch

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"host": platform.node(), "cpus": os.cpu_count(), "memory_gib": round(mem, 1), "gpu": gpu,
            "torch": torch.__version__, "python": platform.python_version()}


def _git_commit() -> str:
    """HEAD commit of the checkout (or 'unknown')."""
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def _route(run: Path) -> dict:
    """DIR/route.json (launch history)."""
    path = run / "route.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"launches": []}


def _write_route(run: Path, route: dict) -> None:
    """Atomic write of DIR/route.json."""
    tmp = run / "route.json.tmp"
    tmp.write_text(json.dumps(route, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, run / "route.json")


def train(run: Path, extra: list[str]) -> int:
    """Launch (or resume) the training detached from this shell; returns at once."""
    run.mkdir(parents=True, exist_ok=True)
    pid_file = run / "train.pid"
    if pid_file.is_file() and _alive(int(pid_file.read_text())):
        print(f"{run}: already training (pid {pid_file.read_text().strip()})", file=sys.stderr)
        return 1
    resume = (run / "last.json").is_file()
    cmd = [sys.executable, "-m", "medvlseg.cli", "train", "--out", str(run)]
    cmd += ["--resume"] if resume else ["--config", str(CONFIG)]
    cmd += extra
    route = _route(run)
    route.setdefault("route", "gpu" if _hardware()["gpu"] else "cpu")
    route["launches"].append({"started": _now(), "resume": resume, "command": " ".join(cmd),
                              "commit": _git_commit(), "hardware": _hardware()})
    _write_route(run, route)
    with open(run / "progress.log", "ab") as err, open(run / "stdout.log", "ab") as out:
        proc = subprocess.Popen(["nice", "-n", "5", *cmd], stdout=out, stderr=err, start_new_session=True,
                                cwd=ROOT, env=os.environ.copy())
    pid_file.write_text(str(proc.pid))
    print(f"{run}: {'resumed' if resume else 'started'} (pid {proc.pid}); follow with "
          f"`{Path(sys.argv[0]).name} status` or `tail -f {run / 'train.log'}`")
    return 0


def _alive(pid: int) -> bool:
    """True when process `pid` exists."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(run: Path) -> int:
    """SIGTERM the detached run's process group (the last finished epoch stays resumable)."""
    pid_file = run / "train.pid"
    if not pid_file.is_file() or not _alive(int(pid_file.read_text())):
        print(f"{run}: not training")
        return 0
    os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    route = _route(run)
    if route["launches"]:
        route["launches"][-1]["stopped"] = _now()
        _write_route(run, route)
    print(f"{run}: stopped (pid {pid_file.read_text().strip()}); `train` resumes it")
    return 0


def status(run: Path) -> int:
    """Print progress: epochs/steps done, last loss, best val Dice, seconds per step and the ETA."""
    import yaml

    log = run / "log.csv"
    if not log.is_file():
        print(f"{run}: no finished epoch yet")
        return 0
    rows = list(csv.DictReader(log.open(encoding="utf-8")))
    cfg = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    total_epochs, steps = int(cfg["epochs"]), int(cfg["steps_per_epoch"])
    done = int(rows[-1]["epoch"])
    seconds = sum(float(r["epoch_s"]) for r in rows)
    recent = rows[-3:]
    s_per_epoch = sum(float(r["epoch_s"]) for r in recent) / len(recent)
    vals = [(float(r["val_dice_mean"]), r["epoch"]) for r in rows if r.get("val_dice_mean")]
    best = max(vals) if vals else None
    eta = dt.timedelta(seconds=round(s_per_epoch * (total_epochs - done)))
    alive = (run / "train.pid").is_file() and _alive(int((run / "train.pid").read_text()))
    best_text = f"best val Dice {best[0]:.4f} (epoch {best[1]})" if best else "no validation yet"
    print(f"{run}: epoch {done}/{total_epochs} (step {rows[-1]['step']}/{total_epochs * steps}), "
          f"{'running' if alive else 'not running'}; loss {float(rows[-1]['loss']):.4f}; {best_text}; "
          f"{s_per_epoch / steps:.2f} s/step recently; training time {seconds / 3600:.2f} h; ETA {eta} "
          "(excluding validation)")
    return 0


def training_summary(run: Path) -> dict:
    """Route, hardware, steps, epochs and wall time of the run (from route.json, log.csv and last.json)."""
    import yaml

    route = _route(run)
    rows = list(csv.DictReader((run / "log.csv").open(encoding="utf-8")))
    cfg = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    end_default = dt.datetime.fromtimestamp((run / "last.json").stat().st_mtime, dt.timezone.utc)
    wall = 0.0
    for launch in route["launches"]:
        start = dt.datetime.fromisoformat(launch["started"])
        end = dt.datetime.fromisoformat(launch["stopped"]) if "stopped" in launch else end_default
        wall += max(0.0, (min(end, end_default) - start).total_seconds())
    vals = [(float(r["val_dice_mean"]), int(r["epoch"])) for r in rows if r.get("val_dice_mean")]
    return {"route": route.get("route", "cpu"), "hardware": route["launches"][-1]["hardware"],
            "data": cfg.get("data"), "steps": int(rows[-1]["step"]), "epochs_done": int(rows[-1]["epoch"]),
            "epochs_planned": int(cfg["epochs"]), "batch_size": int(cfg["batch_size"]),
            "patch_size": int(cfg["patch_size"]), "wall_time_h": round(wall / 3600, 2),
            "train_time_h": round(sum(float(r["epoch_s"]) for r in rows) / 3600, 2),
            "launches": len(route["launches"]), "best_val_dice": max(vals)[0] if vals else None,
            "best_val_epoch": max(vals)[1] if vals else None, "final_loss": float(rows[-1]["loss"]),
            "commit": route["launches"][-1]["commit"]}


def package(run: Path, checkpoint: str) -> int:
    """Write the run's checkpoint as the shipped default model (fp16 safetensors + config + training summary)."""
    from medvlseg.models.zoo import package_run

    summary = training_summary(run)
    inits = [c.split("--init", 1)[1].split()[0] for c in (x["command"] for x in _route(run)["launches"])
             if "--init" in c]
    if inits:  # a continuation: record where it started and the steps behind that start
        summary["init"] = inits[0]
        if inits[0] == "default":
            from medvlseg.models.zoo import read_manifest, resolve_model

            before = read_manifest(resolve_model("default")).get("training", {})
            summary["init_steps"] = int(before.get("steps_total", before.get("steps", 0)))
            summary["init_commit"] = before.get("commit")
        summary["steps_total"] = summary["steps"] + summary.get("init_steps", 0)
    out = package_run(run, checkpoint=checkpoint, training={**summary, "checkpoint": checkpoint})
    print(f"packaged {run}/{checkpoint} → {out}")
    return 0


def main() -> int:
    """Parse the sub-command and run it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("train", "status", "stop", "package"))
    ap.add_argument("--run", type=Path, default=RUN, help=f"run folder (default {RUN.relative_to(ROOT)})")
    ap.add_argument("--checkpoint", default="best", help="package: best | last")
    args, extra = ap.parse_known_args()
    if args.command == "train":
        return train(args.run, extra)
    if args.command == "stop":
        return stop(args.run)
    if args.command == "package":
        return package(args.run, args.checkpoint)
    return status(args.run)


if __name__ == "__main__":
    sys.exit(main())
