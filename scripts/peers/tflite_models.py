"""The three networks of Mote's firmware bench as int8 .tflite files for a peer engine (microflow).

Usage: tflite_models.py <folder>   (run with the peer venv's Python, see scripts/peers/venv.sh)

Writes into <folder>:
- dense.tflite  42 features → Dense 30 ReLU → Dense 16 ReLU → Dense 4 softmax
- cnn.tflite    (1, 100, 6) → Conv (1,3)×8 ReLU → AvgPool (1,2) → Conv (1,3)×16 ReLU → AvgPool (1,2)
                → Flatten (23·16 = 368) → Dense 4 softmax
- dscnn.tflite  as cnn, each Conv replaced by DepthwiseConv (1,3) (multiplier 1, no activation)
                → Conv 1×1 to the filter count, ReLU
- <name>_input.rs  the fixed input the firmware runs (the first test window), as `static INPUT: [f32; n]`
- models.json   per network: ops in the .tflite, MACs, parameter count, float and int8 test
                accuracy, and LiteRT's int8 output for the fixed input (dequantized) to compare with

Differences from Mote's networks (pipeline/train/src/network.rs), forced by microflow 0.1.3, which
runs only FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE and SOFTMAX:
- MaxPool 2 → AveragePool 2 (microflow has no max pooling);
- the 1-D convolutions are built as 2-D ones over an input of height 1 (input (1, 100, 6), kernels
  (1, 3), pools (1, 2)), so the .tflite holds no EXPAND_DIMS/SQUEEZE (checked below);
- dense layers quantized per tensor (microflow's FullyConnected takes one weight scale), the
  convolutions per channel (the converter's default).

Weights: trained for a few epochs on BasicMotions (datasets/basic-motions; official 40/40 split):
the dense net on 42 per-axis statistics (mean, std, min, max, rms, skewness, kurtosis of each of the
6 axes — Mote's preset features, computed here in NumPy), the CNNs on the raw 10 s windows; inputs
standardised with the training rows' mean and std. Calibration (representative dataset): every
training row. Instruction counts do not depend on the weights' values; the accuracies are printed
only to show the models are real.
"""

import contextlib
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SEED = 42
REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "datasets" / "basic-motions"
TIME, CHANNELS, CLASSES = 100, 6, 4
KERNEL, POOL = 3, 2
FILTERS = (8, 16)
HIDDEN = (30, 16)


def load_basic_motions():
    """(windows [n, 100, 6] in the samples' units, labels, splits) from the dataset folder."""
    windows, labels, splits = [], [], []
    with open(DATASET / "samples.csv", newline="") as f:
        for row in csv.DictReader(f):
            lines = (DATASET / row["file"]).read_text().splitlines()
            scales = next(
                line.split(":", 1)[1].strip() for line in lines if line.startswith("# scales:")
            )
            scales = np.array([float(s) for s in scales.split(",")])
            data = [line for line in lines if line and not line.startswith("#")][1:]  # header
            values = np.array([[float(v) for v in line.split(",")] for line in data]) * scales
            assert values.shape == (TIME, CHANNELS), (row["file"], values.shape)
            windows.append(values)
            labels.append(row["label"])
            splits.append(row["split"])
    classes = sorted(set(labels))
    assert len(classes) == CLASSES, classes
    return np.array(windows), np.array([classes.index(l) for l in labels]), np.array(splits)


def statistics(windows):
    """The 42 features: per axis mean, std, min, max, rms, skewness, kurtosis (axis-major)."""
    mean = windows.mean(axis=1)
    std = windows.std(axis=1)
    centred = windows - mean[:, None, :]
    safe = np.where(std > 1e-12, std, 1.0)
    skew = (centred**3).mean(axis=1) / safe**3
    kurt = (centred**4).mean(axis=1) / safe**4 - 3.0
    rms = np.sqrt((windows**2).mean(axis=1))
    stats = [mean, std, windows.min(axis=1), windows.max(axis=1), rms, skew, kurt]
    return np.stack(stats, axis=2).reshape(len(windows), -1)  # [n, axis, stat] → [n, 42]


def standardise(train, test, axis):
    mean = train.mean(axis=axis, keepdims=True)
    std = train.std(axis=axis, keepdims=True)
    std = np.where(std > 1e-6, std, 1.0)
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def build(keras, name, batch_size=None):
    """The network; `batch_size=1` for the conversion (a static shape: Flatten becomes one RESHAPE
    instead of SHAPE/STRIDED_SLICE/PACK/RESHAPE, which microflow cannot run)."""
    layers = keras.layers
    if name == "dense":
        inputs = keras.Input(shape=(42,), batch_size=batch_size, name="features")
        x = inputs
        for units in HIDDEN:
            x = layers.Dense(units, activation="relu")(x)
    else:
        inputs = keras.Input(shape=(1, TIME, CHANNELS), batch_size=batch_size, name="window")
        x = inputs
        for filters in FILTERS:
            if name == "cnn":
                x = layers.Conv2D(filters, (1, KERNEL), padding="valid", activation="relu")(x)
            else:  # dscnn
                x = layers.DepthwiseConv2D((1, KERNEL), depth_multiplier=1, padding="valid")(x)
                x = layers.Conv2D(filters, (1, 1), activation="relu")(x)
            x = layers.AveragePooling2D((1, POOL))(x)
        x = layers.Flatten()(x)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.005),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def macs(name):
    """Multiply-accumulates per inference, counted as Mote counts them (no pooling or softmax)."""
    if name == "dense":
        sizes = (42, *HIDDEN, CLASSES)
        return sum(a * b for a, b in zip(sizes, sizes[1:]))
    total, time, channels = 0, TIME, CHANNELS
    for filters in FILTERS:
        out = time - KERNEL + 1
        if name == "cnn":
            total += out * filters * channels * KERNEL
        else:
            total += out * channels * KERNEL + out * channels * filters
        time, channels = out // POOL, filters
    return total + time * channels * CLASSES


def convert_int8(tf, model, calibration):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative_dataset():
        for row in calibration:
            yield [row[np.newaxis].astype(np.float32)]

    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # microflow's FullyConnected takes a single weight scale (per-tensor quantization).
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    with contextlib.redirect_stdout(sys.stderr):  # Keras' export prints the traced signature
        return converter.convert()


def interpreter_for(flatbuffer):
    from ai_edge_litert import interpreter as litert

    interpreter = litert.Interpreter(
        model_content=flatbuffer,
        num_threads=1,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def ops_of(interpreter):
    return [op["op_name"] for op in interpreter._get_ops_details()]


def run_int8(interpreter, rows):
    """Dequantized int8 outputs for float rows (quantized with the input tensor's parameters)."""
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    (in_scale, in_zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
    results = []
    for row in rows:
        q = np.clip(np.round(row / in_scale) + in_zero, -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], q[np.newaxis])
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"])[0].astype(np.float32)
        results.append(out_scale * (raw - out_zero))
    return np.array(results)


def rust_array(values):
    body = ", ".join(f"{float(v)!r}_f32" for v in values)
    return f"[{body}]"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tflite_models.py <folder>")
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    windows, labels, splits = load_basic_motions()
    train, test = splits == "train", splits == "test"
    features_train, features_test = standardise(
        statistics(windows[train]), statistics(windows[test]), axis=0
    )
    raw_train, raw_test = standardise(windows[train], windows[test], axis=(0, 1))
    data = {
        "dense": (features_train, features_test, 200),
        "cnn": (raw_train[:, None], raw_test[:, None], 40),
        "dscnn": (raw_train[:, None], raw_test[:, None], 40),
    }

    summary = {}
    for name, (x_train, x_test, epochs) in data.items():
        model = build(keras, name)
        model.fit(x_train, labels[train], epochs=epochs, batch_size=8, shuffle=True, verbose=0)
        float_accuracy = float(model.evaluate(x_test, labels[test], verbose=0)[1])
        static = build(keras, name, batch_size=1)
        static.set_weights(model.get_weights())
        flatbuffer = convert_int8(tf, static, x_train)
        interpreter = interpreter_for(flatbuffer)
        ops = ops_of(interpreter)
        unsupported = sorted(
            set(ops)
            - {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE",
               "SOFTMAX"}
        )
        if unsupported:
            sys.exit(f"{name}: ops microflow cannot run: {unsupported} (all ops: {ops})")
        outputs = run_int8(interpreter, x_test)
        int8_accuracy = float((outputs.argmax(axis=1) == labels[test]).mean())
        fixed = x_test[0]
        (folder / f"{name}.tflite").write_bytes(flatbuffer)
        (folder / f"{name}_input.rs").write_text(
            f"/// The fixed input (first BasicMotions test window, standardised), written by\n"
            f"/// scripts/peers/tflite_models.py.\n"
            f"pub static INPUT: [f32; {fixed.size}] = {rust_array(fixed.reshape(-1))};\n"
        )
        summary[name] = {
            "ops": ops,
            "macs": macs(name),
            "parameters": int(model.count_params()),
            "tflite_bytes": len(flatbuffer),
            "float_test_accuracy": float_accuracy,
            "int8_test_accuracy": int8_accuracy,
            "litert_output": [round(float(v), 6) for v in outputs[0]],
        }
        print(
            f"{name}: ops {ops}; {summary[name]['macs']} MACs; {len(flatbuffer)} B; test accuracy"
            f" float {float_accuracy:.3f} int8 {int8_accuracy:.3f}; LiteRT output for the fixed"
            f" input {summary[name]['litert_output']}",
            file=sys.stderr,
        )
    summary["_versions"] = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "weights": "trained on BasicMotions (40 train windows); calibration: the training rows",
    }
    (folder / "models.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
