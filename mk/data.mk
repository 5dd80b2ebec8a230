# How the data sets the committed experiments read are made. Included by the
# generated per-experiment makefiles (cbd-plan). The tools are order-only
# prerequisites: rebuilding a tool does not remake data that exists.
BIN ?= build/bin

# The tiny synthetic long-tailed set (ini/tiny.ini).
data/tiny/train.txt data/tiny/val.txt data/tiny/test.txt data/tiny/classes.txt: | $(BIN)/make-synthetic
	$(BIN)/make-synthetic --out data/tiny --seed 1

# Fashion-MNIST-LT (ini/fmnist_lt.ini): Debian's dataset-fashion-mnist, packed,
# then subsampled to the exponential profile with IF = 100, n_max = 6000.
FMNIST_DEBIAN := /usr/share/datasets/fashion-mnist
FMNIST_IDX ?= $(FMNIST_DEBIAN)
# FILE of $(FMNIST_IDX), or stop: Debian's folder is filled by installing the
# package (tools/install-deps fmnist), another one must hold the files already.
FMNIST_FETCH = f() { test -f "$(FMNIST_IDX)/$$1" && return 0; \
	if [ "$(FMNIST_IDX)" = "$(FMNIST_DEBIAN)" ]; then tools/install-deps fmnist || exit 2; fi; \
	test -f "$(FMNIST_IDX)/$$1" || { echo "Fashion-MNIST: $(FMNIST_IDX)/$$1 not found (FMNIST_IDX names the folder of the IDX files; or apt-get install dataset-fashion-mnist)" >&2; exit 2; }; }; f
data/fmnist_lt/train.h5: | $(BIN)/import-idx
	@$(FMNIST_FETCH) train-images-idx3-ubyte.gz
	@mkdir -p data/fmnist_lt
	$(BIN)/import-idx --images $(FMNIST_IDX)/train-images-idx3-ubyte.gz --labels $(FMNIST_IDX)/train-labels-idx1-ubyte.gz --class-names data_manifests/fashion_mnist_classes.txt --out $@
data/fmnist_lt/test.h5: | $(BIN)/import-idx
	@$(FMNIST_FETCH) t10k-images-idx3-ubyte.gz
	@mkdir -p data/fmnist_lt
	$(BIN)/import-idx --images $(FMNIST_IDX)/t10k-images-idx3-ubyte.gz --labels $(FMNIST_IDX)/t10k-labels-idx1-ubyte.gz --class-names data_manifests/fashion_mnist_classes.txt --out $@
data/fmnist_lt/train_lt.h5: data/fmnist_lt/train.h5 | $(BIN)/make-lt
	$(BIN)/make-lt --in $< --out $@ --profile exp --imbalance 100 --n-max 6000 --seed 1 --counts data/fmnist_lt/train_lt_counts.csv

# Fashion-MNIST-LT with a hard tail (ini/fmnist_lt_hard.ini): the same profile
# and seed, the classes ranked 1,8,5,9,7,3,0,4,2,6 (trouser the most images,
# shirt the fewest). Its test set is data/fmnist_lt/test.h5.
data/fmnist_lt_hard/train_lt.h5: data/fmnist_lt/train.h5 | $(BIN)/make-lt
	@mkdir -p data/fmnist_lt_hard
	$(BIN)/make-lt --in $< --out $@ --class-order 1,8,5,9,7,3,0,4,2,6 --profile exp --imbalance 100 --n-max 6000 --seed 1 --counts data/fmnist_lt_hard/train_lt_counts.csv
