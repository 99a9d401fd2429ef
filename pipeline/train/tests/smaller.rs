//! Better and smaller models: augmented copies (training rows only), SpecAugment masks,
//! distillation from a teacher, and structured pruning.

mod common;

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;

use common::{accuracy, gaussian_clusters, motion_windows, names};
use mote_train::{
    Augment, BlockConfig, Distill, EpochMetrics, LayerKind, LearnConfig, Prune, SampleShape, Stage,
    TrainError, TrainedModel, TrainingSet, train_classifier, train_classifier_with_teacher,
};

fn keep_going(_: &EpochMetrics) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn bits(model: &TrainedModel) -> Vec<u32> {
    model.export().parameters().map(f32::to_bits).collect()
}

fn masks_only() -> Augment {
    Augment { copies: 1, time_mask: 3, freq_mask: 1, ..Augment::default() }
}

#[test]
fn augmented_copies_train_only_beside_training_rows() {
    let (features, labels) = gaussian_clusters(10, 4, 12, 0.6, 7, 1);
    // One copy of every row, nudged so it differs from its origin.
    let copies: Vec<f32> = features.iter().map(|v| v + 0.05).collect();
    let origin: Vec<usize> = (0..labels.len()).collect();
    let set =
        TrainingSet::new(&features, 12, &labels, names(4)).unwrap().with_augmented(&copies, &origin).unwrap();
    let config = LearnConfig {
        epochs: 5,
        augment: Some(Augment { noise: 0.1, ..Augment::default() }),
        ..LearnConfig::default()
    };
    let model = train_classifier(&set, &config, &AtomicBool::new(false), keep_going).unwrap();
    let history = model.history();
    // 8 of the 40 rows validate; their copies are not trained on.
    assert_eq!((history.train_rows, history.validation_rows, history.augmented_rows), (32, 8, 32));

    // Without `[learn.augment]` the copies are not used.
    let plain = LearnConfig { augment: None, ..config.clone() };
    let model = train_classifier(&set, &plain, &AtomicBool::new(false), keep_going).unwrap();
    assert_eq!(model.history().augmented_rows, 0);

    // Copies must fit the set.
    let bad_origin = vec![40usize; labels.len()];
    let error = TrainingSet::new(&features, 12, &labels, names(4))
        .unwrap()
        .with_augmented(&copies, &bad_origin)
        .unwrap_err();
    assert!(error.to_string().contains("row 40"), "{error}");
    assert!(
        TrainingSet::new(&features, 12, &labels, names(4))
            .unwrap()
            .with_augmented(&copies[1..], &origin)
            .is_err()
    );
}

#[test]
fn masks_are_drawn_from_the_seed() {
    let (features, labels) = motion_windows(6, 3, 20, 3, 5);
    let origin: Vec<usize> = (0..labels.len()).collect();
    let shape = SampleShape { time: 20, channels: 3 };
    let set = TrainingSet::new(&features, 60, &labels, names(3))
        .unwrap()
        .with_shape(shape)
        .unwrap()
        .with_augmented(&features, &origin)
        .unwrap();
    let config = |augment: Option<Augment>, seed| LearnConfig {
        block: BlockConfig::Conv1d {
            filters: vec![4],
            kernel_size: 3,
            pool: 2,
            dense: vec![],
            dropout: 0.0,
            separable: false,
        },
        epochs: 4,
        seed,
        augment,
        ..LearnConfig::default()
    };
    let train =
        |config: &LearnConfig| train_classifier(&set, config, &AtomicBool::new(false), keep_going).unwrap();
    let first = train(&config(Some(masks_only()), 1));
    assert_eq!(bits(&first), bits(&train(&config(Some(masks_only()), 1))), "same seed, same masks");
    assert_ne!(bits(&first), bits(&train(&config(Some(masks_only()), 2))));
    // Identical copies without masks train differently from masked ones.
    let unmasked = Augment { time_mask: 0, freq_mask: 0, scale: 0.1, ..masks_only() };
    assert_ne!(bits(&first), bits(&train(&config(Some(unmasked), 1))));
}

#[test]
fn a_teacher_trains_first_then_teaches() {
    let (features, labels) = gaussian_clusters(20, 4, 16, 0.9, 3, 1);
    let (test_features, test_labels) = gaussian_clusters(25, 4, 16, 0.9, 3, 2);
    let set = TrainingSet::new(&features, 16, &labels, names(4)).unwrap();
    let teacher = LearnConfig {
        block: BlockConfig::Dense { hidden: vec![64, 32], dropout: 0.1 },
        epochs: 30,
        ..LearnConfig::default()
    };
    let student = LearnConfig {
        block: BlockConfig::Dense { hidden: vec![6], dropout: 0.0 },
        epochs: 30,
        distill: Some(Distill { teacher: Some(Box::new(teacher.clone())), ..Distill::default() }),
        ..LearnConfig::default()
    };
    let mut stages = Vec::new();
    let model = train_classifier(&set, &student, &AtomicBool::new(false), |metrics| {
        stages.push(metrics.stage);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(stages.iter().filter(|s| **s == Stage::Teacher).count(), 30);
    assert_eq!(stages.iter().filter(|s| **s == Stage::Model).count(), 30);
    assert_eq!(model.architecture().hidden, vec![6]);
    assert_eq!(stages[0], Stage::Teacher);
    let student_accuracy = accuracy(&model.predict(&test_features), &test_labels);
    eprintln!("distilled student: test accuracy {student_accuracy}");
    assert!(student_accuracy > 0.7, "{student_accuracy}");

    // A stored teacher is passed in; it must know the same labels.
    let trained_teacher = train_classifier(&set, &teacher, &AtomicBool::new(false), keep_going).unwrap();
    let plain_student = LearnConfig { distill: None, ..student.clone() };
    let taught = train_classifier_with_teacher(
        &set,
        &plain_student,
        &trained_teacher,
        &AtomicBool::new(false),
        keep_going,
    )
    .unwrap();
    let alone = train_classifier(&set, &plain_student, &AtomicBool::new(false), keep_going).unwrap();
    assert_ne!(bits(&taught), bits(&alone), "the teacher's scores change what the student learns");
    let mut other_names = names(4);
    other_names.swap(0, 1);
    let other = TrainingSet::new(&features, 16, &labels, other_names).unwrap();
    let error = train_classifier_with_teacher(
        &other,
        &plain_student,
        &trained_teacher,
        &AtomicBool::new(false),
        keep_going,
    )
    .unwrap_err();
    assert!(matches!(error, TrainError::Data(_)), "{error}");
    // A model id can only be resolved by a project.
    let by_id =
        LearnConfig { distill: Some(Distill { model: Some(3), ..Distill::default() }), ..plain_student };
    let error = train_classifier(&set, &by_id, &AtomicBool::new(false), keep_going).unwrap_err();
    assert!(error.to_string().contains("distill.model"), "{error}");
}

#[test]
fn pruning_removes_units_until_the_macs_fit() {
    let (features, labels) = motion_windows(30, 3, 40, 3, 11);
    let (test_features, test_labels) = motion_windows(20, 3, 40, 3, 12);
    let set = TrainingSet::new(&features, 120, &labels, names(3))
        .unwrap()
        .with_shape(SampleShape { time: 40, channels: 3 })
        .unwrap();
    let config = LearnConfig {
        block: BlockConfig::Conv1d {
            filters: vec![8, 16],
            kernel_size: 3,
            pool: 2,
            dense: vec![16],
            dropout: 0.1,
            separable: false,
        },
        epochs: 40,
        prune: Some(Prune { target: 0.6, steps: 3, fine_tune_epochs: 8 }),
        ..LearnConfig::default()
    };
    let mut stages = Vec::new();
    let model = train_classifier(&set, &config, &AtomicBool::new(false), |metrics| {
        stages.push(metrics.stage);
        ControlFlow::Continue(())
    })
    .unwrap();
    let pruning = &model.history().pruning;
    assert_eq!(pruning.len(), 4, "{pruning:?}");
    let original = pruning[0].macs;
    assert!(
        pruning.windows(2).all(|pair| pair[1].macs < pair[0].macs && pair[1].parameters < pair[0].parameters)
    );
    assert!(pruning[3].macs * 10 <= original * 4, "{pruning:?}");
    assert_eq!(stages.iter().filter(|s| matches!(s, Stage::Prune { step: 3 })).count(), 8);
    assert_eq!(model.history().kept_epoch, model.history().epochs.len());

    // The network itself is smaller: the exported layers have the pruned shapes.
    let exported = model.export();
    let arch = model.architecture();
    assert_eq!(arch.conv_filters, pruning[3].conv_filters);
    let conv_filters: Vec<usize> = exported
        .layers
        .iter()
        .filter(|layer| matches!(layer.kind, LayerKind::Conv1d { .. }))
        .map(|layer| layer.weight_shape[0])
        .collect();
    assert_eq!(conv_filters, arch.conv_filters);
    assert!(arch.conv_filters[0] < 8 && arch.conv_filters[1] < 16 && arch.hidden[0] < 16, "{arch:?}");
    assert_eq!(exported.parameters().count(), pruning[3].parameters);
    let test_accuracy = accuracy(&model.predict(&test_features), &test_labels);
    eprintln!("pruned test accuracy {test_accuracy}, {pruning:?}");
    assert!(test_accuracy > 0.8, "pruned accuracy {test_accuracy}, {pruning:?}");

    // It saves and loads as any model.
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = TrainedModel::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(&test_features), model.predict(&test_features));
    assert_eq!(loaded.history().pruning, *pruning);
}

#[test]
fn settings_out_of_range_name_the_field() {
    let cases = [
        ("[augment]\ncopies = 0\nnoise = 0.1", "augment.copies"),
        ("[augment]\nnoise = -1", "augment.noise"),
        ("[augment]\ncopies = 2", "augment"),
        ("[augment]\nnoise_label = \"noise\"", "augment.noise"),
        ("[augment]\nnoyse = 0.1", "noyse"),
        ("[distill]\ntemperature = 4", "distill"),
        ("[distill]\nmodel = 2\nweight = 2", "distill.weight"),
        ("[distill.teacher]\nblock = \"kmeans\"", "distill.teacher"),
        ("[prune]\ntarget = 1.5", "prune.target"),
        ("[prune]\nsteps = 0", "prune.steps"),
    ];
    for (tables, field) in cases {
        let text = format!("block = \"dense\"\n{tables}");
        let error = toml::from_str::<LearnConfig>(&text).expect_err(&text).to_string();
        assert!(error.contains(field), "{text:?}: {error}");
    }
    let text = "block = \"conv1d\"\n[augment]\nnoise = 0.1\nshift_ms = 50\n[prune]\ntarget = 0.5\n\
                [distill]\nteacher = { block = \"dense\", hidden = [64] }";
    let config: LearnConfig = toml::from_str(text).unwrap();
    assert_eq!(config.augment.as_ref().map(|a| (a.copies, a.shift_ms)), Some((2, 50.0)));
    assert_eq!(toml::from_str::<LearnConfig>(&toml::to_string(&config).unwrap()).unwrap(), config);
}
