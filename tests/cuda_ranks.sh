#!/usr/bin/env bash
# Data-parallel training on the GPU (device = cuda) as R ranks: a teacher and
# a stored-feature student on 2 ranks give the same bits run to run, the
# same bits whether the ranks sum with NCCL or through host memory
# (CBD_NCCL=off), and stay close to one rank's (on the GPU the bits depend
# on R: cuDNN sums each rank's images, batch norm its chunks). mpirun -np 1
# is one process. Ranks that share the machine's one GPU sum through host
# memory (NCCL wants a GPU a rank); with 2 GPUs or more the default run is
# NCCL's. Exits 77 (skipped) without a GPU.
# usage: cuda_ranks.sh BIN_DIR WORK_DIR MPIRUN
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 3 "BIN_DIR WORK_DIR MPIRUN" "$@"
nvidia-smi -L >/dev/null 2>&1 || { echo "no GPU: skipped"; exit 77; }
test_begin "$1" "$2"
mpirun=$3
ranks() { # ranks R CMD...
    local r=$1
    shift
    CBD_THREADS=2 "$mpirun" --oversubscribe --allow-run-as-root -np "$r" "$@"
}

cd "$work"
synthetic "$work/data" 4 --classes 6 --n-max 60 --size 16 --val-per-class 3 --test-per-class 3
write_ini() { # write_ini FILE OUTPUT_DIR
    ini_head "$1" "$2" 3 16 "val = data/val.txt"
    sed -i '/^\[experiment\]/a device = cuda' "$1"
    cat >>"$1" <<INI
[train]
epochs = 3
batch_size = 16
lr = 0.05
[features]
views = 2
batch_size = 24
[teacher.t1]
kind = standard
[student]
teachers = t1
INI
}
for run in one mpi1 two again host; do write_ini "$work/$run.ini" "$work/$run"; done

CBD_THREADS=2 "$bin/cbd-train-teacher" --config one.ini --teacher t1 --quiet
ranks 1 "$bin/cbd-train-teacher" --config mpi1.ini --teacher t1 --quiet
"$bin/cbd-ckpt" diff one/teachers/t1.ckpt.h5 mpi1/teachers/t1.ckpt.h5 >diff ||
    { cat diff >&2; fail "mpirun -np 1 trained another teacher than one process"; }
ranks 2 "$bin/cbd-train-teacher" --config two.ini --teacher t1 2>two.err >/dev/null || { cat two.err >&2; fail "2 ranks"; }
grep -h "note:" two.err || true
ranks 2 "$bin/cbd-train-teacher" --config again.ini --teacher t1 --quiet
CBD_NCCL=off ranks 2 "$bin/cbd-train-teacher" --config host.ini --teacher t1 --quiet
"$bin/cbd-ckpt" diff two/teachers/t1.ckpt.h5 again/teachers/t1.ckpt.h5 >diff ||
    { cat diff >&2; fail "2 ranks on the GPU: two runs differ"; }
"$bin/cbd-ckpt" diff two/teachers/t1.ckpt.h5 host/teachers/t1.ckpt.h5 >diff ||
    { cat diff >&2; fail "2 ranks on the GPU: the NCCL run and the CBD_NCCL=off run differ"; }

# closeness to one rank: the epochs' training loss, and the weights
echo "teacher, training loss per epoch (1 rank | 2 ranks):"
paste -d' ' <(cut -d, -f1,4 one/teachers/t1.metrics.csv) <(cut -d, -f4 two/teachers/t1.metrics.csv)
"$bin/cbd-ckpt" diff one/teachers/t1.ckpt.h5 two/teachers/t1.ckpt.h5 | tail -4 || true
awk -F, 'FNR == NR { if (FNR > 1) prev[FNR] = $4; next }
         FNR > 1 { d = $4 - prev[FNR]; if (d < 0) d = -d; if (d > 0.1 * prev[FNR] + 0.02) bad = 1 }
         END { exit bad }' \
    one/teachers/t1.metrics.csv two/teachers/t1.metrics.csv ||
    fail "2 ranks' training loss is more than 10% (+0.02) from one rank's"

# a student on stored features, 2 ranks twice: the same bits
for run in two again; do
    ranks 2 "$bin/cbd-dump-features" --config $run.ini --teacher t1 --quiet
    ranks 2 "$bin/cbd-train-student" --config $run.ini --student student --quiet
done
"$bin/cbd-ckpt" diff two/student.ckpt.h5 again/student.ckpt.h5 >diff ||
    { cat diff >&2; fail "the student on 2 GPU ranks: two runs differ"; }
echo "cuda_ranks: 2 ranks on cuda the same bits run to run and with CBD_NCCL=off; close to 1 rank"
