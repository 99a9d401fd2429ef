"""Keras side of the training-speed benchmark (scripts/bench-training.sh): fits the network Mote
trained, on the same windows, with the same training setup, and prints fit time and test
accuracy as JSON. A benchmark, not a test.

Matched to Mote's training (pipeline/train/src/{training,network,split,normalise}.rs):
- dense: hidden layers with ReLU and dropout after each; conv1d: Conv1D (valid padding, stride 1)
  + ReLU + MaxPool per filter count, flatten, dropout, then any dense layers; softmax output;
- He-uniform weights before a ReLU, Glorot-uniform for the output layer, zero biases;
- Adam (learning rate 0.005, epsilon 1e-5), batch size 32, shuffled every epoch, no early stop;
- validation: the same fraction of every class held out at random, evaluated after every epoch;
- standardisation of every input value fitted on the rows trained on.
Rows of a conv1d model are (time, channels) flattened, as Mote lays them out.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from keras_litert import SEED, classifier, fit_standardisation, read_features, stratified_split  # noqa: E402


def numbers(text):
    return [int(part) for part in text.split(",") if part]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True, help="CSV from `mote features --csv`")
    parser.add_argument("--hidden", type=numbers, default=[], help="dense layer sizes, e.g. 40,20")
    parser.add_argument("--filters", type=numbers, default=[], help="conv filters, e.g. 8,16 (conv1d)")
    parser.add_argument("--channels", type=int, default=1, help="channels of a conv1d row")
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--pool", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--validation", type=float, default=0.2)
    return parser.parse_args()


def build(keras, args, n_features, n_classes):
    layers = keras.layers
    inputs = keras.Input(shape=(n_features,))
    x = inputs
    if args.filters:
        x = layers.Reshape((n_features // args.channels, args.channels))(x)
        for filters in args.filters:
            x = layers.Conv1D(filters, args.kernel, activation="relu", kernel_initializer="he_uniform")(x)
            if args.pool > 1:
                x = layers.MaxPool1D(args.pool)(x)
        x = layers.Flatten()(x)
        x = layers.Dropout(args.dropout)(x)
    return classifier(keras, inputs, x, args.hidden, args.dropout, n_classes)


def main():
    args = parse_args()
    import tensorflow as tf
    import keras

    splits, label_names, features = read_features(args.features)
    classes = sorted(set(label_names[splits == "train"]))
    labels = np.array([classes.index(name) for name in label_names])
    train_all = np.flatnonzero(splits == "train")
    test = np.flatnonzero(splits == "test")
    keras.utils.set_random_seed(SEED)
    fit_rel, validation_rel = stratified_split(
        labels[train_all], len(classes), args.validation, np.random.default_rng(SEED))
    fit_rows, validation_rows = train_all[fit_rel], train_all[validation_rel]
    mean, std = fit_standardisation(features[fit_rows])
    standardised = (features - mean) / std
    model = build(keras, args, features.shape[1], len(classes))
    started = time.perf_counter()
    model.fit(
        standardised[fit_rows], labels[fit_rows],
        validation_data=(standardised[validation_rows], labels[validation_rows]),
        batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    probabilities = model.predict(standardised[test], batch_size=1024, verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels[test]))
    json.dump({
        "fit_seconds": fit_seconds,
        "test_accuracy": accuracy,
        "fit_rows": int(len(fit_rows)),
        "test_rows": int(len(test)),
        "parameters": int(model.count_params()),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "threads": os.cpu_count(),
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
