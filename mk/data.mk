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
# The validation split ([data] val) is 100 images a class of those make-lt
# left out. The class with n_max = 6000 keeps all of its 6000 training images,
# so it has none: make-lt says so, and the split holds the other nine classes
# (900 images). Its images are never trained on; choosing on it rather than on
# test is the point (a sweep says which split chose).
data/fmnist_lt/train_lt.h5 data/fmnist_lt/val.h5 &: data/fmnist_lt/train.h5 | $(BIN)/make-lt
	$(BIN)/make-lt --in $< --out data/fmnist_lt/train_lt.h5 --profile exp --imbalance 100 --n-max 6000 --seed 1 --counts data/fmnist_lt/train_lt_counts.csv --val-out data/fmnist_lt/val.h5 --val-per-class 100

# Fashion-MNIST-LT with a hard tail (ini/fmnist_lt_hard.ini): the same profile
# and seed, the classes ranked 1,8,5,9,7,3,0,4,2,6 (trouser the most images,
# shirt the fewest). Its test set is data/fmnist_lt/test.h5.
data/fmnist_lt_hard/train_lt.h5 data/fmnist_lt_hard/val.h5 &: data/fmnist_lt/train.h5 | $(BIN)/make-lt
	@mkdir -p data/fmnist_lt_hard
	$(BIN)/make-lt --in $< --out data/fmnist_lt_hard/train_lt.h5 --class-order 1,8,5,9,7,3,0,4,2,6 --profile exp --imbalance 100 --n-max 6000 --seed 1 --counts data/fmnist_lt_hard/train_lt_counts.csv --val-out data/fmnist_lt_hard/val.h5 --val-per-class 100

# The paper's benchmarks (ini/imagenet_lt_r50.ini, ini/inat18_r50.ini,
# ini/places_lt_r152.ini): the images are the user's, linked into data/; the
# standard split files are converted to manifests by cbd-convert, which
# checks every image is there. What is missing is said, and make stops.
# need FILE WHAT: stops with WHAT unless FILE exists
need = test -e "$(1)" || { echo "$(2)" >&2; exit 2; }

IMAGENET_LT_LISTS := data/imagenet_lt/lists
data/imagenet_lt/train.txt: | $(BIN)/cbd-convert
	@$(call need,data/imagenet/train,ImageNet-LT: link ImageNet 2012 (the folder holding train/ and val/ with class folders) at data/imagenet)
	@$(call need,$(IMAGENET_LT_LISTS)/ImageNet_LT_train.txt,ImageNet-LT: put ImageNet_LT_train.txt, _val.txt and _test.txt in $(IMAGENET_LT_LISTS))
	$(BIN)/cbd-convert imagenet-lt --in $(IMAGENET_LT_LISTS)/ImageNet_LT_train.txt --root data/imagenet --out $@ --class-names-out data/imagenet_lt/classes.txt
data/imagenet_lt/val.txt data/imagenet_lt/test.txt: data/imagenet_lt/%.txt: | $(BIN)/cbd-convert data/imagenet_lt/train.txt
	@$(call need,$(IMAGENET_LT_LISTS)/ImageNet_LT_$*.txt,ImageNet-LT: put ImageNet_LT_$*.txt in $(IMAGENET_LT_LISTS))
	$(BIN)/cbd-convert imagenet-lt --in $(IMAGENET_LT_LISTS)/ImageNet_LT_$*.txt --root data/imagenet --out $@
data/imagenet_lt/classes.txt: data/imagenet_lt/train.txt

INAT18 := data/inat18
data/inat18/train.txt data/inat18/val.txt: data/inat18/%.txt: | $(BIN)/cbd-convert
	@$(call need,$(INAT18)/train_val2018,iNaturalist 2018: link the folder holding train_val2018/ and $*2018.json at $(INAT18))
	@$(call need,$(INAT18)/$*2018.json,iNaturalist 2018: put $*2018.json in $(INAT18))
	$(BIN)/cbd-convert inat2018 --in $(INAT18)/$*2018.json --root $(INAT18) --out $@ --class-names-out data/inat18/classes.txt
data/inat18/classes.txt: data/inat18/train.txt

PLACES_LT_LISTS := data/places_lt/lists
data/places_lt/train.txt: | $(BIN)/cbd-convert
	@$(call need,data/places365/data_256,Places-LT: link Places365-Standard (the folder holding data_256/ and val_256/) at data/places365)
	@$(call need,$(PLACES_LT_LISTS)/Places_LT_train.txt,Places-LT: put Places_LT_train.txt, _val.txt and _test.txt in $(PLACES_LT_LISTS))
	$(BIN)/cbd-convert places-lt --in $(PLACES_LT_LISTS)/Places_LT_train.txt --root data/places365 --prefix data_256 --out $@ --class-names-out data/places_lt/classes.txt
data/places_lt/val.txt data/places_lt/test.txt: data/places_lt/%.txt: | $(BIN)/cbd-convert data/places_lt/train.txt
	@$(call need,$(PLACES_LT_LISTS)/Places_LT_$*.txt,Places-LT: put Places_LT_$*.txt in $(PLACES_LT_LISTS))
	$(BIN)/cbd-convert places-lt --in $(PLACES_LT_LISTS)/Places_LT_$*.txt --root data/places365 --prefix val_256 --out $@
data/places_lt/classes.txt: data/places_lt/train.txt
