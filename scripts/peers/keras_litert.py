"""Keras + LiteRT side of the peer benchmark (scripts/bench-peers.sh), and the comparison table.

Trains Mote's dense classifier again in Keras on the features Mote computed (`mote features
--csv`), quantizes it with TFLite full-integer post-training quantization on the same calibration
rows Mote uses (every training window), evaluates both on the test windows, and prints one table:
Mote against Keras/LiteRT, with the ratio Mote / peer. A benchmark, not a test: nothing here fails
on a number.

What is matched to Mote's training (pipeline/train/src/{training,network,split,normalise}.rs and
the BasicMotions preset's [learn] table):
- hidden layers 30 and 16, ReLU, dropout 0.1 after each; softmax output;
- He-uniform weights before a ReLU, Glorot-uniform for the output layer, zero biases;
- Adam, learning rate 0.005, betas 0.9/0.999, epsilon 1e-5 (burn's default; Keras' is 1e-7);
- batch size 32, 300 epochs, shuffled every epoch, the last epoch's weights kept (no early stop);
- validation: 10 % of every class held out at random (Keras' own validation_split would take the
  last 10 % of the rows unshuffled, here one class only), seed 42;
- standardisation fitted on the rows trained on (population std, f64; std below
  1e-6 · max(|mean|, 1) counts as 1), applied before the model.
The random streams differ (Mote seeds its own SmallRng streams), so the weights do not.
"""

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import sys
import time

PROCESS_STARTED = time.perf_counter()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ info lines quiet

import numpy as np  # noqa: E402

SEED = 42
HIDDEN = (30, 16)
DROPOUT = 0.1
LEARNING_RATE = 0.005
ADAM_EPSILON = 1e-5
BATCH_SIZE = 32
EPOCHS = 300
VALIDATION_FRACTION = 0.1
MIN_STD = 1e-6
LATENCY_SECONDS = 1.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True, help="CSV from `mote features --csv`")
    parser.add_argument("--mote-train-json", required=True, help="output of `mote --json train`")
    parser.add_argument("--mote-train-wall", type=float, required=True,
                        help="wall time of `mote --json train`, seconds (measured by the caller)")
    parser.add_argument("--mote-runtime-json", required=True, help="output of classify_csv")
    parser.add_argument("--mote-rev", default="unknown", help="Mote's git revision, for the record")
    parser.add_argument("--json-out", help="also write the table and versions as JSON here")
    return parser.parse_args()


def read_features(path):
    """Rows of the features CSV as (split, label, values) arrays."""
    splits, labels, rows = [], [], []
    with open(path, newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        if header[:3] != ["split", "label", "sample"]:
            sys.exit(f"{path}: expected a header `split,label,sample,f0,…`, got {header[:3]}")
        for record in reader:
            splits.append(record[0])
            labels.append(record[1])
            rows.append([float(value) for value in record[3:]])
    return np.array(splits), np.array(labels), np.array(rows, dtype=np.float32)


def stratified_split(labels, n_classes, fraction, rng):
    """Holds out round(fraction · class size) rows of every class (at least one kept), like Mote."""
    train, validation = [], []
    for class_idx in range(n_classes):
        rows = np.flatnonzero(labels == class_idx)
        rng.shuffle(rows)
        n_validation = min(int(math.floor(len(rows) * fraction + 0.5)), max(len(rows) - 1, 0))
        validation.extend(rows[:n_validation])
        train.extend(rows[n_validation:])
    return np.sort(np.array(train, dtype=int)), np.sort(np.array(validation, dtype=int))


def fit_standardisation(rows):
    """Per-feature mean and population std in f64; (nearly) constant features keep std 1."""
    values = rows.astype(np.float64)
    mean = values.mean(axis=0)
    std = np.sqrt(np.maximum((values * values).mean(axis=0) - mean * mean, 0.0))
    std = np.where(std < MIN_STD * np.maximum(np.abs(mean), 1.0), 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def classifier(keras, inputs, x, hidden, dropout, n_classes):
    """Mote's dense head on `x` (ReLU + dropout per hidden layer, softmax output, its initialisers
    and Adam settings), compiled as a model from `inputs`."""
    layers = keras.layers
    for units in hidden:
        x = layers.Dense(units, activation="relu", kernel_initializer="he_uniform")(x)
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_initializer="glorot_uniform")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=ADAM_EPSILON),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_model(keras, n_features, n_classes):
    inputs = keras.Input(shape=(n_features,), name="features")
    return classifier(keras, inputs, inputs, HIDDEN, DROPOUT, n_classes)


def convert_int8(tf, model, calibration_rows):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative_dataset():
        for row in calibration_rows:
            yield [row[np.newaxis, :].astype(np.float32)]

    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(sys.stderr):  # Keras' export prints the traced signature
        return converter.convert()


def litert_interpreter(tf, flatbuffer, default_delegates=True):
    """The LiteRT interpreter from ai_edge_litert when installed, else tf.lite's; one thread.
    `default_delegates=False` runs the builtin kernels without the default XNNPACK delegate."""
    try:
        from ai_edge_litert import interpreter as litert

        Interpreter, OpResolverType = litert.Interpreter, litert.OpResolverType
        which = "ai_edge_litert.interpreter.Interpreter"
    except ImportError:
        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
        which = "tf.lite.Interpreter"
    resolver = OpResolverType.AUTO if default_delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_content=flatbuffer, num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    return interpreter, which


def quantize_input(rows, detail):
    scale, zero_point = detail["quantization"]
    q = np.round(rows / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def evaluate_int8(interpreter, rows_q, truth):
    input_idx = interpreter.get_input_details()[0]["index"]
    output_idx = interpreter.get_output_details()[0]["index"]
    correct = 0
    for row, label in zip(rows_q, truth):
        interpreter.set_tensor(input_idx, row)
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(output_idx)[0]) == label)
    return correct / len(truth)


def invoke_latency_us(interpreter, rows_q):
    """Mean time of invoke alone (the input stays the last row's), repeated for ≥ 1 s."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], rows_q[-1])
    invoke = interpreter.invoke
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < LATENCY_SECONDS:
        for _ in range(1000):
            invoke()
        calls += 1000
    return (time.perf_counter() - started) * 1e6 / calls


def latency_us(interpreter, rows_q):
    """Mean time of set_tensor + invoke + get_tensor per window, all rows repeated for ≥ 1 s."""
    input_idx = interpreter.get_input_details()[0]["index"]
    output_idx = interpreter.get_output_details()[0]["index"]
    set_tensor, invoke, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor
    for row in rows_q:  # warm-up
        set_tensor(input_idx, row)
        invoke()
        get_tensor(output_idx)
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < LATENCY_SECONDS:
        for row in rows_q:
            set_tensor(input_idx, row)
            invoke()
            get_tensor(output_idx)
            calls += 1
    return (time.perf_counter() - started) * 1e6 / calls


def dig(document, dotted):
    for key in dotted.split("."):
        document = document[key]
    return document


def ratio(mote, peer):
    if mote is None or peer is None or peer == 0:
        return None
    return mote / peer


def print_table(rows):
    header = ("", "Mote", "Keras/LiteRT", "ratio Mote/peer")
    cells = [header]
    for name, mote, peer, fmt in rows:
        r = ratio(mote, peer)
        cells.append((
            name,
            "—" if mote is None else format(mote, fmt),
            "—" if peer is None else format(peer, fmt),
            "—" if r is None else f"{r:.2f}×",
        ))
    widths = [max(len(row[col]) for row in cells) for col in range(4)]
    line = "  ".join("-" * w for w in widths)
    for idx, row in enumerate(cells):
        print("  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]))
        if idx == 0:
            print(line)


def main():
    args = parse_args()
    with open(args.mote_train_json) as file:
        mote_train = json.load(file)
    with open(args.mote_runtime_json) as file:
        mote_runtime = json.load(file)

    imports_started = time.perf_counter()
    import tensorflow as tf
    import keras

    imports_seconds = time.perf_counter() - imports_started

    splits, label_names, features = read_features(args.features)
    classes = sorted(set(label_names[splits == "train"]))
    labels = np.array([classes.index(name) for name in label_names])
    train_all = np.flatnonzero(splits == "train")
    test = np.flatnonzero(splits == "test")
    n_features, n_classes = features.shape[1], len(classes)

    pipeline_started = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    fit_rel, validation_rel = stratified_split(
        labels[train_all], n_classes, VALIDATION_FRACTION, np.random.default_rng(SEED))
    fit_rows, validation_rows = train_all[fit_rel], train_all[validation_rel]
    mean, std = fit_standardisation(features[fit_rows])
    standardised = (features - mean) / std

    model = build_model(keras, n_features, n_classes)
    fit_started = time.perf_counter()
    history = model.fit(
        standardised[fit_rows], labels[fit_rows],
        validation_data=(standardised[validation_rows], labels[validation_rows]),
        batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=0,
    )
    fit_seconds = time.perf_counter() - fit_started
    probabilities = model.predict(standardised[test], batch_size=len(test), verbose=0)
    float_accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels[test]))

    # Calibration: every training window (validation rows included), as Mote's quantize_block.
    flatbuffer = convert_int8(tf, model, standardised[train_all])
    interpreter, interpreter_name = litert_interpreter(tf, flatbuffer)
    input_detail = interpreter.get_input_details()[0]
    test_q = quantize_input(standardised[test], input_detail)
    test_q = [row[np.newaxis, :] for row in test_q]
    int8_accuracy = evaluate_int8(interpreter, test_q, labels[test])
    pipeline_seconds = time.perf_counter() - pipeline_started
    whole_seconds = time.perf_counter() - PROCESS_STARTED
    peer_latency = latency_us(interpreter, test_q)
    peer_invoke_latency = invoke_latency_us(interpreter, test_q)
    builtin_interpreter, _ = litert_interpreter(tf, flatbuffer, default_delegates=False)
    builtin_accuracy = evaluate_int8(builtin_interpreter, test_q, labels[test])
    builtin_latency = latency_us(builtin_interpreter, test_q)

    mote_float = float(dig(mote_train, "test.top1_accuracy"))
    mote_int8 = float(dig(mote_train, "int8.comparison.int8.top1_accuracy"))
    runtime_accuracy = float(mote_runtime["accuracy"])
    rows = [
        ("float test accuracy", mote_float, float_accuracy, ".3f"),
        ("int8 test accuracy", mote_int8, int8_accuracy, ".3f"),
        ("int8 drop (points)", 100 * (mote_float - mote_int8), 100 * (float_accuracy - int8_accuracy), ".1f"),
        ("model size (bytes)", float(mote_runtime["blob_bytes"]), float(len(flatbuffer)), ".0f"),
        ("latency per window (µs)", float(mote_runtime["latency_us"]), peer_latency, ".2f"),
        ("training, whole step (s)", args.mote_train_wall, whole_seconds, ".1f"),
        ("training, in process (s)", float(mote_train["seconds"]), pipeline_seconds, ".1f"),
        ("training, fit only (s)", mote_train.get("fit_seconds"), fit_seconds, ".1f"),
    ]
    versions = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "interpreter": interpreter_name,
        "mote": args.mote_rev,
    }
    try:
        from importlib.metadata import version

        versions["ai_edge_litert"] = version("ai-edge-litert")
    except Exception:  # not installed: tf.lite's interpreter was used
        versions["ai_edge_litert"] = None

    print()
    print(f"BasicMotions: {len(train_all)} train windows ({len(fit_rows)} fitted, {len(validation_rows)} "
          f"validation), {len(test)} test windows, {n_features} features, {n_classes} classes")
    print()
    print_table(rows)
    print()
    print("Notes:")
    print(f"- Mote int8 accuracy is from `mote train`; classify_csv on the blob gives {runtime_accuracy:.3f} "
          f"over {mote_runtime['windows']} windows"
          + ("" if abs(runtime_accuracy - mote_int8) < 1e-9 else "  <-- differs!") + ".")
    print(f"- One test window is {100 / len(test):.1f} points of accuracy.")
    print(f"- Model size: Mote's blob ({mote_runtime['blob_bytes']} B; arena {mote_runtime['arena_bytes']} B) "
          "holds the standardisation folded into its input quantization, the labels and the DSP config; "
          "the .tflite flatbuffer holds the network only: the standardisation is applied in numpy "
          "before the model (no Normalization layer), so its 2 × "
          f"{n_features} constants are not counted.")
    print("- Latency: Mote = mote-runtime classify (raw features → folded standardisation → int8 → "
          "top class) in an optimised Rust build; LiteRT = set_tensor + invoke + get_tensor on "
          f"pre-quantized int8 rows through {interpreter_name} (1 thread, default XNNPACK "
          "delegate), called from Python, so it includes Python call overhead: invoke alone takes "
          f"{peer_invoke_latency:.2f} µs. Without the default delegate (builtin kernels): "
          f"{builtin_latency:.2f} µs per window, int8 accuracy {builtin_accuracy:.3f}.")
    print(f"- Training, whole step: Mote = `mote --json train` wall time (the dev-profile CLI, "
          f"burn's numeric crates optimised): features, training, PTQ, evaluation, storing; Keras = this "
          f"process up to the int8 evaluation, including {imports_seconds:.1f} s of importing TensorFlow.")
    print("- Training, in process: Mote = the report's `seconds` (features → fit → PTQ → evaluation); "
          "Keras = standardise + build + fit + predict + convert + int8 evaluation.")
    print(f"- Keras: {EPOCHS} epochs, last epoch validation accuracy "
          f"{history.history['val_accuracy'][-1]:.3f}, loss {history.history['loss'][-1]:.4f}.")
    print()
    print("Versions: " + ", ".join(f"{key} {value}" for key, value in versions.items()))

    if args.json_out:
        document = {
            "dataset": {"train": int(len(train_all)), "fitted": int(len(fit_rows)),
                        "validation": int(len(validation_rows)), "test": int(len(test)),
                        "features": int(n_features), "classes": classes},
            "rows": [{"name": name, "mote": mote, "peer": peer, "ratio": ratio(mote, peer)}
                     for name, mote, peer, _ in rows],
            "mote_runtime": mote_runtime,
            "keras_imports_seconds": imports_seconds,
            "litert_invoke_only_latency_us": peer_invoke_latency,
            "litert_builtin_kernels": {"latency_us": builtin_latency, "int8_accuracy": builtin_accuracy},
            "versions": versions,
        }
        with open(args.json_out, "w") as file:
            json.dump(document, file, indent=2)
            file.write("\n")


if __name__ == "__main__":
    main()
