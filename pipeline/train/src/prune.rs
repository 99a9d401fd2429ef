//! Structured pruning: whole conv filters and dense neurons are removed, not zeroed, so the
//! network that remains is genuinely smaller (fewer MACs, a smaller blob and arena).
//!
//! A unit's importance is the L1 norm of its incoming weights (Li et al., "Pruning Filters for
//! Efficient ConvNets"). Every prunable layer keeps the same fraction of its units (at least one),
//! the largest fraction that brings the network to the MAC goal; the output layer is kept whole.

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use crate::network::{Architecture, Network, param};

/// A copy of `network` on `device` with the least important units removed so that it has at most
/// `goal_macs` multiply-accumulates (or one unit per prunable layer, when even that is more).
pub(crate) fn shrink(network: &Network, goal_macs: usize, device: &Device) -> Network {
    let arch = network.architecture();
    let (filters, hidden) = sizes_for(arch, goal_macs);
    let conv_keep: Vec<Vec<usize>> = network
        .convs
        .iter()
        .zip(&filters)
        .map(|(conv, &n)| {
            let weight = values(&conv.weight);
            let per_filter = weight.len() / conv.weight.dims()[0];
            strongest(weight.chunks_exact(per_filter).map(l1), n)
        })
        .collect();
    let hidden_keep: Vec<Vec<usize>> = network
        .hidden
        .iter()
        .zip(&hidden)
        .map(|(layer, &n)| {
            // burn stores a Linear weight as [d_input, d_output]: a neuron's inputs are a column.
            let [d_input, d_output] = layer.weight.dims();
            let weight = values(&layer.weight);
            strongest((0..d_output).map(|j| (0..d_input).map(|i| weight[i * d_output + j].abs()).sum()), n)
        })
        .collect();

    let pruned_arch = Architecture { conv_filters: filters, hidden, ..arch.clone() };
    let mut pruned = Network::new(&pruned_arch, device, None);

    // Convolutions: keep filters (outputs) and the previous block's kept filters (inputs).
    let input_channels = arch.shape.map_or(0, |shape| shape.channels);
    let mut inputs: Vec<usize> = (0..input_channels).collect();
    for (block, ((conv, target), keep)) in
        network.convs.iter().zip(&mut pruned.convs).zip(&conv_keep).enumerate()
    {
        // A separable block's depthwise convolution keeps the channels that remain coming in.
        if let (Some(depthwise), Some(target)) =
            (network.depthwise.get(block), pruned.depthwise.get_mut(block))
        {
            let [_, _, kernel] = depthwise.weight.dims();
            let weight = values(&depthwise.weight);
            let kept: Vec<f32> =
                inputs.iter().flat_map(|&c| weight[c * kernel..(c + 1) * kernel].iter().copied()).collect();
            target.weight = param(kept, [inputs.len(), 1, kernel], device);
            target.bias = depthwise
                .bias
                .as_ref()
                .map(|bias| param(pick(&values(bias), &inputs), [inputs.len()], device));
        }
        let [_, channels_in, kernel] = conv.weight.dims();
        let weight = values(&conv.weight);
        let mut kept = Vec::with_capacity(keep.len() * inputs.len() * kernel);
        for &filter in keep {
            for &channel in &inputs {
                let start = (filter * channels_in + channel) * kernel;
                kept.extend_from_slice(&weight[start..start + kernel]);
            }
        }
        target.weight = param(kept, [keep.len(), inputs.len(), kernel], device);
        target.bias = conv.bias.as_ref().map(|bias| param(pick(&values(bias), keep), [keep.len()], device));
        inputs.clone_from(keep);
    }

    // The flatten is time-major (`t * filters + f`): the first dense layer keeps, for every time
    // step, the inputs of the kept filters.
    let mut inputs: Vec<usize> = match (arch.conv_shapes().ok().and_then(|s| s.last().copied()), arch.shape) {
        (Some((time, filters)), Some(_)) => {
            (0..time).flat_map(|t| inputs.iter().map(move |&f| t * filters + f)).collect()
        }
        _ => (0..arch.n_features).collect(),
    };
    let all_classes: Vec<usize> = (0..arch.n_classes).collect();
    let layers = network.hidden.iter().zip(&mut pruned.hidden).zip(hidden_keep.iter());
    let output = std::iter::once(((&network.output, &mut pruned.output), &all_classes));
    for ((layer, target), keep) in layers.chain(output) {
        let [_, d_output] = layer.weight.dims();
        let weight = values(&layer.weight);
        let kept: Vec<f32> = inputs
            .iter()
            .flat_map(|&i| keep.iter().map(move |&j| (i, j)))
            .map(|(i, j)| weight[i * d_output + j])
            .collect();
        target.weight = param(kept, [inputs.len(), keep.len()], device);
        target.bias = layer.bias.as_ref().map(|bias| param(pick(&values(bias), keep), [keep.len()], device));
        inputs.clone_from(keep);
    }
    pruned
}

/// Filter and neuron counts keeping the same fraction of every layer, as large as the goal allows.
fn sizes_for(arch: &Architecture, goal_macs: usize) -> (Vec<usize>, Vec<usize>) {
    let scaled = |fraction: f64| {
        let keep = |n: &usize| ((*n as f64 * fraction).ceil() as usize).clamp(1, *n);
        (
            arch.conv_filters.iter().map(keep).collect::<Vec<_>>(),
            arch.hidden.iter().map(keep).collect::<Vec<_>>(),
        )
    };
    let macs = |(filters, hidden): &(Vec<usize>, Vec<usize>)| {
        Architecture { conv_filters: filters.clone(), hidden: hidden.clone(), ..arch.clone() }.macs()
    };
    // The MAC count only grows with the fraction: bisect for the largest that fits.
    let (mut low, mut high) = (0.0f64, 1.0f64);
    if macs(&scaled(high)) <= goal_macs {
        return scaled(high);
    }
    for _ in 0..40 {
        let middle = (low + high) / 2.0;
        if macs(&scaled(middle)) <= goal_macs { low = middle } else { high = middle }
    }
    scaled(low)
}

/// Indices of the `n` largest scores, ascending (ties keep the earlier unit).
fn strongest(scores: impl Iterator<Item = f32>, n: usize) -> Vec<usize> {
    let mut ranked: Vec<(usize, f32)> = scores.enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep: Vec<usize> = ranked.into_iter().take(n).map(|(idx, _)| idx).collect();
    keep.sort_unstable();
    keep
}

fn l1(values: &[f32]) -> f32 {
    values.iter().map(|v| v.abs()).sum()
}

fn pick(values: &[f32], keep: &[usize]) -> Vec<f32> {
    keep.iter().map(|&idx| values[idx]).collect()
}

fn values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param.val().into_data().try_into_vec::<f32>().expect("the network computes in f32")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BlockConfig;
    use crate::dataset::SampleShape;
    use burn::tensor::TensorData;

    fn conv() -> Architecture {
        conv_of(false)
    }

    fn conv_of(separable: bool) -> Architecture {
        let block = BlockConfig::Conv1d {
            filters: vec![8, 16],
            kernel_size: 3,
            pool: 2,
            dense: vec![12],
            dropout: 0.0,
            separable,
        };
        Architecture::new(&block, 40 * 3, Some(SampleShape { time: 40, channels: 3 }), 4).unwrap()
    }

    #[test]
    fn macs_count_every_layer() {
        let arch = conv();
        // conv 38×8×3×3, pool → 19; conv 17×16×8×3, pool → 8; dense 8·16→12; output 12→4.
        assert_eq!(arch.macs(), 38 * 8 * 9 + 17 * 16 * 24 + 128 * 12 + 12 * 4);
        assert_eq!(arch.parameters(), (8 * 9 + 8) + (16 * 24 + 16) + (128 * 12 + 12) + (12 * 4 + 4));
        // Separable: depthwise 38×3×3 + pointwise 38×3×8, then 17×8×3 + 17×8×16.
        let separable = conv_of(true);
        assert_eq!(separable.macs(), 38 * 3 * (3 + 8) + 17 * 8 * (3 + 16) + 128 * 12 + 12 * 4);
        assert_eq!(
            separable.parameters(),
            (3 * 3 + 3) + (8 * 3 + 8) + (8 * 3 + 8) + (16 * 8 + 16) + (128 * 12 + 12) + (12 * 4 + 4)
        );
    }

    /// Removing units keeps what the remaining units compute: when the removed units' weights
    /// are zero, the pruned network gives the same logits as the whole one, with every layer
    /// really smaller.
    #[test]
    fn a_pruned_network_computes_what_its_kept_units_did() {
        for separable in [false, true] {
            pruned_network_computes_what_its_kept_units_did(separable);
        }
    }

    fn pruned_network_computes_what_its_kept_units_did(separable: bool) {
        let device = Device::flex();
        let arch = conv_of(separable);
        let mut network = Network::new(&arch, &device, Some(&mut rand::SeedableRng::seed_from_u64(5)));
        // Silence the odd filters of both convolutions and the even neurons of the dense layer.
        for conv in &mut network.convs {
            let dims = conv.weight.dims();
            let per_filter = dims[1] * dims[2];
            let mut weight = values(&conv.weight);
            for filter in (1..dims[0]).step_by(2) {
                weight[filter * per_filter..(filter + 1) * per_filter].fill(0.0);
            }
            conv.weight = param(weight, dims, &device);
        }
        let [d_input, d_output] = network.hidden[0].weight.dims();
        let mut weight = values(&network.hidden[0].weight);
        for i in 0..d_input {
            for j in (0..d_output).step_by(2) {
                weight[i * d_output + j] = 0.0;
            }
        }
        network.hidden[0].weight = param(weight, [d_input, d_output], &device);

        let half = Architecture { conv_filters: vec![4, 8], hidden: vec![6], ..arch.clone() };
        let pruned = shrink(&network, half.macs(), &device);
        assert_eq!(pruned.architecture(), &half);
        let width = if separable { 1 } else { 3 };
        assert_eq!(pruned.convs[0].weight.dims(), [4, 3, width]);
        assert_eq!(pruned.convs[1].weight.dims(), [8, 4, width]);
        if separable {
            assert_eq!(pruned.depthwise[0].weight.dims(), [3, 1, 3], "the input's channels stay");
            assert_eq!(pruned.depthwise[1].weight.dims(), [4, 1, 3], "the kept filters' channels");
        }
        assert_eq!(pruned.hidden[0].weight.dims(), [8 * 8, 6]);
        assert_eq!(pruned.output.weight.dims(), [6, 4]);

        let input: Vec<f32> = (0..2 * 120).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let run = |n: &Network| {
            let tensor = Tensor::<2>::from_data(TensorData::new(input.clone(), [2, 120]), &device);
            n.forward(tensor, None).into_data().try_into_vec::<f32>().unwrap()
        };
        let (whole, smaller) = (run(&network), run(&pruned));
        for (a, b) in whole.iter().zip(&smaller) {
            assert!((a - b).abs() < 1e-4, "{whole:?} vs {smaller:?}");
        }
    }

    #[test]
    fn the_goal_is_met_even_when_only_one_unit_per_layer_is_left() {
        let device = Device::flex();
        let arch = conv();
        let network = Network::new(&arch, &device, Some(&mut rand::SeedableRng::seed_from_u64(5)));
        let pruned = shrink(&network, 1, &device);
        assert_eq!(pruned.architecture().conv_filters, vec![1, 1]);
        assert_eq!(pruned.architecture().hidden, vec![1]);
    }
}
