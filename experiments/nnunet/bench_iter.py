"""Seconds per nnU-Net training iteration (and validation iteration) on this machine, without a full epoch.

Run with the nnU-Net venv and the env of run.sh (nnUNet_raw/preprocessed/results set):
  .venv-nnunet/bin/python experiments/nnunet/bench_iter.py [N_TRAIN] [N_VAL] [TRAINER] [DEVICE]
Builds the trainer exactly as nnUNetv2_train does (fold `all`, 3d_fullres), starts its dataloaders, and times
N_TRAIN train_step calls and N_VAL validation_step calls after one warm-up each. Prints one JSON line.
"""
import json
import multiprocessing
import sys
import time

import torch
from nnunetv2.run.run_training import get_trainer_from_args

n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 5
n_val = int(sys.argv[2]) if len(sys.argv) > 2 else 3
trainer_name = sys.argv[3] if len(sys.argv) > 3 else "nnUNetTrainer_1epoch"
device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
if device.type == "cpu":
    torch.set_num_threads(multiprocessing.cpu_count())  # what nnUNetv2_train -device cpu does
trainer = get_trainer_from_args("501", "3d_fullres", "all", trainer_name, device=device)
trainer.disable_checkpointing = True
trainer.on_train_start()
trainer.on_train_epoch_start()
trainer.train_step(next(trainer.dataloader_train))
t0 = time.perf_counter()
for _ in range(n_train):
    trainer.train_step(next(trainer.dataloader_train))
train_s = (time.perf_counter() - t0) / n_train
with torch.no_grad():
    trainer.on_validation_epoch_start()
    trainer.validation_step(next(trainer.dataloader_val))
    t0 = time.perf_counter()
    for _ in range(n_val):
        trainer.validation_step(next(trainer.dataloader_val))
val_s = (time.perf_counter() - t0) / max(n_val, 1)
epoch_s = train_s * trainer.num_iterations_per_epoch + val_s * trainer.num_val_iterations_per_epoch
print(json.dumps({"trainer": trainer_name, "device": str(device), "threads": torch.get_num_threads(),
                  "s_per_train_iter": round(train_s, 3), "s_per_val_iter": round(val_s, 3),
                  "iters_per_epoch": trainer.num_iterations_per_epoch,
                  "val_iters_per_epoch": trainer.num_val_iterations_per_epoch, "num_epochs": trainer.num_epochs,
                  "est_epoch_s": round(epoch_s, 1), "est_train_s": round(epoch_s * trainer.num_epochs, 1)}))
trainer.on_train_end()
