//! The seeded, stratified train/validation split.

use rand::Rng;
use rand::seq::SliceRandom;

/// Row indices for training and for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, ascending.
    pub train: Vec<usize>,
    /// Validation rows, ascending.
    pub validation: Vec<usize>,
}

/// Holds out `round(fraction × class size)` rows of every class, chosen at random, but always keeps
/// at least one row of each class for training.
pub fn stratified(labels: &[usize], n_classes: usize, fraction: f32, rng: &mut impl Rng) -> Split {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (row_idx, &label) in labels.iter().enumerate() {
        by_class[label].push(row_idx);
    }
    let mut train = Vec::with_capacity(labels.len());
    let mut validation = Vec::new();
    for mut rows in by_class {
        rows.shuffle(rng);
        let n_validation =
            ((rows.len() as f32 * fraction).round() as usize).min(rows.len().saturating_sub(1));
        validation.extend_from_slice(&rows[..n_validation]);
        train.extend_from_slice(&rows[n_validation..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    Split { train, validation }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn keeps_class_proportions_and_is_seeded() {
        let labels: Vec<usize> =
            (0..40).map(|i| i % 4).chain([3, 3, 3, 3, 3, 3, 3, 3, 3, 3]).chain([4]).collect();
        let split = stratified(&labels, 5, 0.2, &mut SmallRng::seed_from_u64(1));
        let count = |rows: &[usize], class| rows.iter().filter(|&&r| labels[r] == class).count();
        assert_eq!((0..5).map(|c| count(&split.validation, c)).collect::<Vec<_>>(), vec![2, 2, 2, 4, 0]);
        assert_eq!(split.train.len() + split.validation.len(), labels.len());
        assert_eq!(split, stratified(&labels, 5, 0.2, &mut SmallRng::seed_from_u64(1)));
        assert_ne!(split, stratified(&labels, 5, 0.2, &mut SmallRng::seed_from_u64(2)));
        assert!(stratified(&labels, 5, 0.0, &mut SmallRng::seed_from_u64(1)).validation.is_empty());
    }
}
