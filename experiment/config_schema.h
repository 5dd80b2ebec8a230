/* The experiment INI schema: one list per section, one line per key. The
 * lists generate the config structs (experiment/config.h) and, in
 * experiment/config_keys.c, the tables from which the defaults, parsing,
 * per-key validation, --help text, the resolved dump and every stage's
 * digest are made.
 *
 * X(SECTION, KEY, TYPE, ARG, DEFAULT, FLAGS, READERS, CONSTRAINT, HELP)
 *   TYPE        STRING (char KEY[ARG]), PATH (char KEY[ARG]), INT (int),
 *               U64 (uint64_t), FLOAT (float), BOOL (int, 0 or 1),
 *               ENUM (ARG is the enum type; its names are ARG##_names),
 *               FLOATS (float KEY[ARG] + int KEY##_count),
 *               NAMES (char KEY[ARG][CBD_NAME_MAX] + int KEY##_count)
 *   DEFAULT     the default as INI text, parsed like a value from a file;
 *               for COMPUTED keys, the description of how it is computed
 *   FLAGS       0, REQUIRED or COMPUTED
 *   READERS     the outputs whose content the key's resolved value decides
 *               (cbd_reader in experiment/config.h, written R_TEACHER, ...):
 *               changing the key makes exactly those outputs stale. R_NONE:
 *               a key that decides no output (threads, where files go,
 *               memory limits). The [data] paths train, val and test decide
 *               through their content (experiment/stage_digest.h), not their
 *               text; [data] image_root only through that content.
 *   CONSTRAINT  CBD_ANY, CBD_MIN(a), CBD_ABOVE(a), CBD_RANGE(a, b) [a, b],
 *               CBD_RANGE_LO_OPEN(a, b) (a, b], CBD_RANGE_HI_OPEN(a, b) [a, b),
 *               CBD_CHECK(fn): a check on the parsed value. Numbers are
 *               checked element by element for FLOATS. Rules between keys
 *               (warmup_epochs < epochs, ...) are in config_resolve.c's cross
 *               checks and are stated in HELP.
 * This file is included by experiment/config.h only. */
#ifndef CBD_CONFIG_SCHEMA_H
#define CBD_CONFIG_SCHEMA_H

#define CBD_PATH_MAX 4096
#define CBD_NAME_MAX 64
#define CBD_ARCH_MAX 32
#define CBD_MAX_TEACHERS 16
#define CBD_MAX_STUDENTS 64
#define CBD_MAX_CHANNELS 3

/* clang-format off */
#define CBD_SCHEMA_EXPERIMENT(X) \
    X(experiment, name, STRING, CBD_NAME_MAX, "the INI file's name without .ini", COMPUTED, R_REPORT, CBD_CHECK(check_experiment_name), \
      "experiment name") \
    X(experiment, seed, U64, 0, "0", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_HEAD, CBD_ANY, \
      "experiment seed: augmented views, sample order, default teacher seeds") \
    X(experiment, output_dir, PATH, CBD_PATH_MAX, "runs/<name>", COMPUTED, R_NONE, CBD_ANY, \
      "where the stages write; a relative path starts from the current working directory (not the INI's folder)") \
    X(experiment, device, ENUM, cbd_device, "cpu", 0, R_NONE, CBD_ANY, \
      "compute backend; auto = cuda when a GPU is usable, else cpu") \
    X(experiment, precision, ENUM, cbd_precision, "fp32", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_ANY, \
      "convolution precision: fp32 (on cuda, TF32 tensor cores allowed) or bf16 (inputs rounded to bf16, fp32 sums, fp32 everywhere else; on the cpu needs AVX-512 BF16 or AMX)") \
    X(experiment, threads, INT, 0, "0", 0, R_NONE, CBD_MIN(0), \
      "CPU threads; 0 = $CBD_THREADS, else $OMP_NUM_THREADS, else all cores")

#define CBD_SCHEMA_DATA(X) \
    X(data, train, PATH, CBD_PATH_MAX, "", REQUIRED, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_HEAD | R_EVAL, CBD_ANY, \
      "training images: a manifest (text, `path label` per line) or a packed image store (.h5)") \
    X(data, val, PATH, CBD_PATH_MAX, "", 0, R_NONE, CBD_ANY, \
      "validation images, same formats; empty = none") \
    X(data, test, PATH, CBD_PATH_MAX, "", 0, R_EVAL, CBD_ANY, \
      "test images, same formats; empty = none") \
    X(data, image_root, PATH, CBD_PATH_MAX, "", 0, R_NONE, CBD_ANY, \
      "folder the image paths of manifests start from; empty = each manifest's own folder") \
    X(data, class_names, PATH, CBD_PATH_MAX, "", 0, R_EVAL, CBD_ANY, \
      "file with one class name per line, in label order; empty = class numbers") \
    X(data, channels, INT, 0, "3", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_CHECK(check_channels), \
      "channels images are converted to (1 = gray, 3 = RGB)") \
    X(data, resize, INT, 0, "0", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_MIN(0), \
      "shorter image side after decoding image files; 0 = as stored") \
    X(data, image_size, INT, 0, "32", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_MIN(16), \
      "side of the square network input") \
    X(data, crop, ENUM, cbd_crop_kind, "pad_random", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_ANY, \
      "training crop: pad_random = pad by `pad`, random image_size crop; random_resized = random area and aspect, resized to image_size; none = resize only") \
    X(data, pad, INT, 0, "4", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_MIN(0), \
      "padding of pad_random crops, in pixels") \
    X(data, flip, BOOL, 0, "true", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_ANY, \
      "random horizontal flips in training views") \
    X(data, scale_min, FLOAT, 0, "0.05", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_RANGE_LO_OPEN(0, 1), \
      "random_resized: smallest crop area, as a fraction of the image") \
    X(data, scale_max, FLOAT, 0, "1", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_RANGE_LO_OPEN(0, 1), \
      "random_resized: largest crop area fraction; >= scale_min") \
    X(data, ratio_min, FLOAT, 0, "0.75", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_ABOVE(0), \
      "random_resized: smallest aspect ratio (width / height)") \
    X(data, ratio_max, FLOAT, 0, "1.3333333", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE, CBD_ABOVE(0), \
      "random_resized: largest aspect ratio; >= ratio_min") \
    X(data, mean, FLOATS, CBD_MAX_CHANNELS, "0.5", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_ANY, \
      "subtracted per channel from pixels scaled to [0, 1]: 1 value (all channels) or `channels` values, comma-separated") \
    X(data, std, FLOATS, CBD_MAX_CHANNELS, "0.25", 0, R_TEACHER | R_DUMP | R_TRAIN | R_FINETUNE | R_EVAL, CBD_ABOVE(0), \
      "divides per channel after the mean: 1 value or `channels` values") \
    X(data, classes, INT, 0, "0", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_EVAL, CBD_MIN(0), \
      "number of classes; 0 = largest training label + 1") \
    X(data, on_bad_image, ENUM, cbd_bad_image_policy, "fail", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_EVAL, CBD_ANY, \
      "an image that cannot be decoded: fail = stop and name it; skip = count it and go on") \
    X(data, workers, INT, 0, "2", 0, R_NONE, CBD_MIN(0), \
      "image loading threads; 0 = load in the training thread")

#define CBD_SCHEMA_MODEL(X) \
    X(model, arch, STRING, CBD_ARCH_MAX, "resnet20", 0, R_TEACHER | R_TRAIN, CBD_CHECK(check_arch), \
      "backbone of the teachers and the student (unless they name their own)") \
    X(model, head, ENUM, cbd_head_kind, "cosine", 0, R_TEACHER | R_TRAIN, CBD_ANY, \
      "classifier on the embedding: cosine (scaled cosine similarity) or linear") \
    X(model, cosine_scale, FLOAT, 0, "20", 0, R_TEACHER | R_TRAIN, CBD_ABOVE(0), \
      "scale (gamma) of the cosine classifier")

#define CBD_SCHEMA_TRAIN(X) \
    X(train, epochs, INT, 0, "90", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(1), \
      "training epochs (teachers; the student unless [student] epochs is set)") \
    X(train, batch_size, INT, 0, "128", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(1), \
      "images per SGD step") \
    X(train, lr, FLOAT, 0, "0.1", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_ABOVE(0), \
      "learning rate after warmup, decayed to lr_final on a cosine") \
    X(train, lr_final, FLOAT, 0, "0", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "learning rate at the end of the cosine schedule") \
    X(train, warmup_epochs, INT, 0, "0", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "epochs of linear warmup from 0 to lr; < epochs") \
    X(train, momentum, FLOAT, 0, "0.9", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_RANGE_HI_OPEN(0, 1), \
      "SGD momentum") \
    X(train, weight_decay, FLOAT, 0, "0.0005", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "L2 weight decay") \
    X(train, nesterov, BOOL, 0, "false", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_ANY, \
      "Nesterov momentum") \
    X(train, decay_norm_and_bias, BOOL, 0, "false", 0, R_TEACHER | R_TRAIN | R_FINETUNE | R_HEAD, CBD_ANY, \
      "apply weight decay to batch-norm parameters and biases too") \
    X(train, sampling, ENUM, cbd_sampling_kind, "instance", 0, R_TEACHER, CBD_ANY, \
      "teachers' sampling: instance = each image equally likely; class_balanced = each class equally likely; sqrt = class probability proportional to sqrt(class size)") \
    X(train, checkpoint_every, INT, 0, "1", 0, R_NONE, CBD_MIN(1), \
      "epochs between resume checkpoints")

#define CBD_SCHEMA_AUGMENT(X) \
    X(augment, brightness, FLOAT, 0, "0.4", 0, R_AUG_TEACHER, CBD_MIN(0), \
      "colour jitter: brightness factor drawn from [1 - b, 1 + b]") \
    X(augment, contrast, FLOAT, 0, "0.4", 0, R_AUG_TEACHER, CBD_MIN(0), \
      "colour jitter: contrast factor drawn from [1 - c, 1 + c]") \
    X(augment, saturation, FLOAT, 0, "0.4", 0, R_AUG_TEACHER, CBD_MIN(0), \
      "colour jitter: saturation factor drawn from [1 - s, 1 + s]") \
    X(augment, hue, FLOAT, 0, "0.1", 0, R_AUG_TEACHER, CBD_RANGE(0, 0.5), \
      "colour jitter: hue shift drawn from [-h, h] (fraction of the colour circle)") \
    X(augment, jitter_p, FLOAT, 0, "0.8", 0, R_AUG_TEACHER, CBD_RANGE(0, 1), \
      "probability of applying the colour jitter to a view") \
    X(augment, grayscale_p, FLOAT, 0, "0.2", 0, R_AUG_TEACHER, CBD_RANGE(0, 1), \
      "probability of converting a view to grayscale") \
    X(augment, noise_sigma, FLOAT, 0, "0.01", 0, R_AUG_TEACHER, CBD_MIN(0), \
      "standard deviation of the Gaussian noise added to pixels in [0, 1]")

/* [teacher.NAME]: one section per teacher (NAME: letters, digits, '_', '-'). */
#define CBD_SCHEMA_TEACHER(X) \
    X(teacher, kind, ENUM, cbd_teacher_kind, "standard", 0, R_TEACHER, CBD_ANY, \
      "standard = crop + flip; augment = standard + [augment] colour jitter, grayscale and noise") \
    X(teacher, seed, U64, 0, "[experiment] seed + 1 + the teacher's position (0-based)", COMPUTED, R_TEACHER, CBD_ANY, \
      "initialisation, sample order and views of this teacher") \
    X(teacher, epochs, INT, 0, "0", 0, R_TEACHER, CBD_MIN(0), \
      "training epochs; 0 = [train] epochs") \
    X(teacher, arch, STRING, CBD_ARCH_MAX, "", 0, R_TEACHER, CBD_CHECK(check_arch_or_empty), \
      "backbone; empty = [model] arch") \
    X(teacher, lr, FLOAT, 0, "0", 0, R_TEACHER, CBD_MIN(0), \
      "learning rate; 0 = [train] lr") \
    X(teacher, head, ENUM, cbd_head_kind, "[model] head", COMPUTED, R_TEACHER, CBD_ANY, \
      "classifier of this teacher: cosine or linear (lws and tau_norm need a linear one)") \
    X(teacher, label, STRING, CBD_NAME_MAX, "teacher NAME", COMPUTED, R_REPORT, CBD_CHECK(check_label), \
      "the teacher's name in reports")

#define CBD_SCHEMA_FEATURES(X) \
    X(features, views, INT, 0, "10", 0, R_DUMP | R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(1), \
      "augmented views stored per image (S); the k-th draw of an image uses view k mod S") \
    X(features, dtype, ENUM, cbd_feature_dtype, "float16", 0, R_DUMP, CBD_ANY, \
      "on-disk type of stored features and logits") \
    X(features, logits, ENUM, cbd_logits_mode, "auto", 0, R_DUMP, CBD_ANY, \
      "also store teacher logits; auto = when the training set has at most 1000 classes (at 8142, the logits would be 4x ResNet-50's 2048-d features). Read only by [student] distill = logit or hybrid with teacher_source = store (KD, hybrid); CBD (distill = feature), cRT, LWS, tau-norm, NCM and the ensemble do not") \
    X(features, batch_size, INT, 0, "0", 0, R_NONE, CBD_MIN(0), \
      "images per forward pass while dumping; 0 = [train] batch_size") \
    X(features, memory_cap_mb, INT, 0, "4096", 0, R_NONE, CBD_MIN(0), \
      "MiB of feature store the student may hold in memory; larger stores are streamed from disk")

#define CBD_SCHEMA_STUDENT(X) \
    X(student, method, ENUM, cbd_student_method, "train", 0, R_TRAIN | R_FINETUNE | R_HEAD | R_TAU | R_ENSEMBLE, CBD_ANY, \
      "train = a network from scratch with the loss and distillation below (distill = none: the class-balanced baseline); finetune = all layers of the `from` teacher trained on with CE at lr for epochs; crt = classifier re-training: a new classifier on the frozen backbone of `from`, trained on its stored features; lws = learnable weight scaling of `from`'s classifier rows (linear head); tau_norm = `from`'s classifier rows divided by their norm to the power norm_power (linear head), no training; ensemble = the mean of the softmax outputs of `teachers`, no training") \
    X(student, from, STRING, CBD_NAME_MAX, "", 0, R_FINETUNE | R_HEAD | R_TAU, CBD_ANY, \
      "the stage-1 model of finetune, crt, lws and tau_norm: the NAME of a [teacher.NAME] section") \
    X(student, label, STRING, CBD_NAME_MAX, "the section's name", COMPUTED, R_REPORT, CBD_CHECK(check_label), \
      "the model's name in reports (not inherited by [student.NAME] sections); models with the same label are seeds of one model (mean and spread)") \
    X(student, seed, U64, 0, "[experiment] seed", COMPUTED, R_TRAIN | R_FINETUNE | R_HEAD, CBD_ANY, \
      "initialisation and sample order of this model (its views stay keyed on [experiment] seed, as the stored features are)") \
    X(student, lr, FLOAT, 0, "0", 0, R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "learning rate; 0 = [train] lr") \
    X(student, views, INT, 0, "0", 0, R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "stored views used (S'): the k-th draw of an image uses view k mod S'; 0 = [features] views; with teacher_source = online it may exceed [features] views") \
    X(student, norm_power, FLOAT, 0, "1", 0, R_TAU, CBD_MIN(0), \
      "tau of tau_norm: classifier rows are divided by their norm to this power") \
    X(student, alpha, FLOAT, 0, "0.4", 0, R_TRAIN, CBD_RANGE(0, 1), \
      "loss = (1 - alpha) CE + alpha * beta * distillation") \
    X(student, beta, FLOAT, 0, "100", 0, R_TRAIN, CBD_MIN(0), \
      "scale of the feature distillation term") \
    X(student, teachers, NAMES, CBD_MAX_TEACHERS, "all teachers, in file order", COMPUTED, R_TRAIN | R_ENSEMBLE, CBD_ANY, \
      "teachers distilled from, comma-separated names of [teacher.NAME] sections") \
    X(student, teacher_source, ENUM, cbd_teacher_source, "store", 0, R_TRAIN, CBD_ANY, \
      "store = read teacher features dumped by cbd-dump-features; online = compute them from the teacher checkpoints on the student's views") \
    X(student, distill, ENUM, cbd_distill_kind, "feature", 0, R_TRAIN, CBD_ANY, \
      "feature = cosine feature distillation (CBD); logit = temperature KD on logits; hybrid = both; none = no teacher (class-balanced baseline)") \
    X(student, loss, ENUM, cbd_student_loss, "ce", 0, R_TRAIN | R_FINETUNE, CBD_ANY, \
      "classification loss: ce = cross-entropy; logit_adjusted = CE on logits + tau * log(class prior)") \
    X(student, tau, FLOAT, 0, "1", 0, R_TRAIN | R_FINETUNE, CBD_MIN(0), \
      "logit adjustment strength (loss = logit_adjusted)") \
    X(student, temperature, FLOAT, 0, "2", 0, R_TRAIN, CBD_ABOVE(0), \
      "temperature of logit distillation (distill = logit or hybrid)") \
    X(student, sampling, ENUM, cbd_sampling_kind, "class_balanced", 0, R_TRAIN | R_FINETUNE | R_HEAD, CBD_ANY, \
      "student's sampling: instance, class_balanced or sqrt") \
    X(student, epochs, INT, 0, "0", 0, R_TRAIN | R_FINETUNE | R_HEAD, CBD_MIN(0), \
      "training epochs; 0 = [train] epochs") \
    X(student, arch, STRING, CBD_ARCH_MAX, "", 0, R_TRAIN, CBD_CHECK(check_arch_or_empty), \
      "backbone; empty = [model] arch") \
    X(student, projection_relu, BOOL, 0, "true", 0, R_TRAIN, CBD_ANY, \
      "ReLU after the projection h that maps the student feature to the concatenated teacher features (more than one teacher)")

#define CBD_SCHEMA_EVAL(X) \
    X(eval, many_threshold, INT, 0, "100", 0, R_EVAL, CBD_MIN(1), \
      "many-shot classes have more than this many training images") \
    X(eval, few_threshold, INT, 0, "20", 0, R_EVAL, CBD_MIN(1), \
      "few-shot classes have fewer than this many training images; <= many_threshold") \
    X(eval, batch_size, INT, 0, "0", 0, R_NONE, CBD_MIN(0), \
      "images per forward pass; 0 = [train] batch_size") \
    X(eval, top_k, INT, 0, "5", 0, R_EVAL, CBD_MIN(1), \
      "k of the top-k accuracy reported beside top-1")

/* The fixed sections, in the order of the struct and of the dump
 * ([teacher.NAME] sections are written after [augment]). */
#define CBD_CONFIG_SECTIONS(S) \
    S(experiment, CBD_SCHEMA_EXPERIMENT) \
    S(data, CBD_SCHEMA_DATA) \
    S(model, CBD_SCHEMA_MODEL) \
    S(train, CBD_SCHEMA_TRAIN) \
    S(augment, CBD_SCHEMA_AUGMENT) \
    S(features, CBD_SCHEMA_FEATURES) \
    S(student, CBD_SCHEMA_STUDENT) \
    S(eval, CBD_SCHEMA_EVAL)
/* clang-format on */

/* Struct members of one schema line. */
#define CBD_CONFIG_MEMBER(sec, key, type, arg, def, flags, readers, cons, help) CBD_CONFIG_MEMBER_##type(key, arg)
#define CBD_CONFIG_MEMBER_STRING(key, n) char key[n];
#define CBD_CONFIG_MEMBER_PATH(key, n) char key[n];
#define CBD_CONFIG_MEMBER_INT(key, unused) int key;
#define CBD_CONFIG_MEMBER_U64(key, unused) uint64_t key;
#define CBD_CONFIG_MEMBER_FLOAT(key, unused) float key;
#define CBD_CONFIG_MEMBER_BOOL(key, unused) int key;
#define CBD_CONFIG_MEMBER_ENUM(key, type) type key;
#define CBD_CONFIG_MEMBER_FLOATS(key, n) float key[n]; int key##_count;
#define CBD_CONFIG_MEMBER_NAMES(key, n) char key[n][CBD_NAME_MAX]; int key##_count;

#endif
