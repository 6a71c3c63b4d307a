"""The misconceptions the grader can name: an id (published ids keep their meaning) and the sentence a student reads.

A misconception is named only when the student's values equal what code with that misconception gives on the
failing case and on a few more cases, within the check's own tolerance, while the correct answer does not: the
grader computes those values itself (see the other modules of this package), never from student code. Imports
nothing heavy.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Misconception:
    id: str
    target: str
    """The graded function (the grader's key): backpropagation, grad_check, train_manual_update, train, mlp,
    load_cifar."""
    sentence: str
    """What code with this misconception does, as a noun phrase: "Your ... equal what <sentence> gives"."""


CATALOGUE: tuple[Misconception, ...] = (
    Misconception("sign_flipped", "backpropagation", "gradients with the opposite sign"),
    Misconception("missing_factor_2", "backpropagation", "the squared error's derivative without its factor 2"),
    Misconception("derivative_missing", "backpropagation", "leaving out the activation's derivative f'"),
    Misconception("derivative_at_output", "backpropagation",
                  "f' evaluated at the layer's output a instead of its input z"),
    Misconception("activation_hardcoded", "backpropagation",
                  "one activation's derivative for every layer instead of the model's df"),
    Misconception("mean_over_outputs", "backpropagation", "dividing the gradients by the number of outputs"),
    Misconception("mean_over_batch", "backpropagation", "dividing the gradients by the batch size"),
    Misconception("bias_one_sample", "backpropagation",
                  "the bias gradient of the first sample instead of the sum over the batch"),
    Misconception("batch_of_one_only", "backpropagation",
                  "handling only a batch of one (the first sample's gradients, or a squeezed batch dimension)"),
    Misconception("weight_gradient_transposed", "backpropagation",
                  "the weight gradient transposed (a[l-1]^T delta instead of delta^T a[l-1])"),
    Misconception("layer_skipped", "backpropagation", "leaving one layer's gradients unset or zero"),
    Misconception("wrong_layer", "backpropagation", "storing each layer's gradients under its neighbour's index"),
    Misconception("always_true", "grad_check", "a check that always says the gradients are right"),
    Misconception("parameters_not_restored", "grad_check", "perturbing the parameters without restoring them"),
    Misconception("biases_not_checked", "grad_check", "a relative error over the weights only (biases not checked)"),
    Misconception("absolute_error", "grad_check",
                  "the absolute error ||g_fd - g_bp|| instead of the relative one"),
    Misconception("one_sided_difference", "grad_check",
                  "one-sided differences (L(w + eps) - L(w)) / eps instead of central ones"),
    Misconception("momentum_ignored", "train_manual_update", "ignoring the momentum (plain SGD)"),
    Misconception("momentum_sign_flipped", "train_manual_update",
                  "subtracting the old buffer: buf <- grad - momentum * buf"),
    Misconception("momentum_reset_each_epoch", "train_manual_update", "a momentum buffer reset at every epoch"),
    Misconception("decay_outside_momentum", "train_manual_update",
                  "weight decay applied to the parameters directly (decoupled) instead of added to the gradient "
                  "before the momentum buffer"),
    Misconception("gradients_not_zeroed", "train_manual_update",
                  "gradients never zeroed, so they accumulate from batch to batch"),
    Misconception("double_update", "train_manual_update", "updating the parameters twice per batch"),
    Misconception("double_update_some_steps", "train_manual_update",
                  "updating the parameters twice on some batches (the first step, or the first or last batch of "
                  "each epoch)"),
    Misconception("momentum_gradient_subtracted", "train_manual_update",
                  "subtracting the gradient from the buffer: buf <- momentum * buf - grad"),
    Misconception("lr_applied_twice", "train_manual_update", "the learning rate applied twice (lr * lr)"),
    Misconception("momentum_dampened", "train_manual_update",
                  "a dampened momentum buffer, buf <- momentum * buf + (1 - momentum) * grad"),
    Misconception("gradients_not_zeroed", "train", "gradients never zeroed, so they accumulate from batch to batch"),
    Misconception("double_step", "train", "two optimizer steps per batch"),
    Misconception("loss_summed", "train", "the sum of the epoch's batch losses instead of their mean"),
    Misconception("last_batch_loss", "train", "the last batch's loss instead of the epoch's mean"),
    Misconception("softmax_output", "mlp", "a softmax on the output (probabilities instead of logits)"),
    Misconception("missing_relu", "mlp", "a ReLU missing after a hidden layer"),
    Misconception("wrong_width", "mlp", "a layer of the wrong width"),
    Misconception("labels_swapped", "load_cifar", "the labels swapped (airplane 1, bird 0)"),
    Misconception("wrong_class", "load_cifar", "another CIFAR-10 class kept instead of one of the two"),
    Misconception("not_normalized", "load_cifar", "the raw pixels, not normalised per channel"),
    Misconception("val_from_test", "load_cifar", "the validation set taken from the test images"),
)
"""In order of simplicity within each target: when several explain the same values, the first is named."""


def misconception(target: str, id_: str) -> Misconception:
    return next(m for m in CATALOGUE if m.target == target and m.id == id_)


def of(target: str) -> list[Misconception]:
    return [m for m in CATALOGUE if m.target == target]
