#!/usr/bin/env bash
# Train Tinct's models on a lent GPU machine (Keras 3 on JAX; no TensorFlow there).
#   stage 1: unpack wheels + the first half of the training photos, GPU smoke test
#   stage 2: unpack the second half, full training run, pack the run into $OUT
# The photos travel as .carry/p1/photos.zip and .carry/p2/photos.zip (stored zips of
# data/prepared's train split, split in two to fit one call's 64 MiB each).
set -uo pipefail
stage="$1"
repo="$(pwd)"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=0.85
export PYTHONPATH="/tmp/site:$repo"
unpack() { python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall('/tmp/prep')" "$1"; }
if [ "$stage" = 1 ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  unpack .carry/p1/photos.zip
  nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -c "import jax, keras; print(jax.devices(), keras.__version__, keras.backend.backend())"
  timeout 200 python3 main.py train --prepared /tmp/prep --preset gpu --limit 4 \
    --universal-epochs 1 --category-epochs 1 --paper-epochs 1 --batch-size 8 --min-photos 2 \
    --categories animal dog --run /tmp/smoke --no-resume 2>&1 | grep -v "^Epoch" | tail -30
  ls /tmp/prep/images | head -3; find /tmp/prep/images -name '*.webp' | wc -l
else
  [ -f .carry/p2/photos.zip ] && unpack .carry/p2/photos.zip
  find /tmp/prep/images -name '*.webp' | wc -l
  mkdir -p /tmp/run
  timeout "${TRAIN_TIMEOUT:-470}" python3 main.py train --prepared /tmp/prep --preset gpu \
    --run /tmp/run --no-resume --time-budget "${TIME_BUDGET:-360}" 2>&1 \
    | grep -v "^Epoch" | tee "$OUT/train_console.txt" | tail -60
  cd /tmp/run && tar cf /tmp/run.tar ./*.keras ./*.json ./train.log 2>/dev/null
  split -b 15M /tmp/run.tar "$OUT/run.tar.part-"
  ls -la "$OUT"
fi
