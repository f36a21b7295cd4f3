"""One short hint per known mistake, pointing back to the part of the chapter that explains it.

Keys are the ``hint`` ids that checks attach to a :class:`~graders.kernel.result.Mistake`; the feedback
reports show the hint under the message.
"""

HINTS: dict[str, str] = {
    'exploding_not_nan': (
        'In Step 1 your MSE should be `nan`/`inf`. A finite value means you probably added clipping or changed the optimizer, learning rate or momentum. Use plain `SGD` with learning rate 0.01 and momentum 0.9 (see *Step 1*, item 2).'),
    'exploding_lr_renamed': (
        'Keras 3 no longer accepts `lr`. Write `SGD(learning_rate=0.01, ...)` (see the *Keras 3 note* in *Step 1*, item 2 of the exploding-gradients notebook).'),
    'exploding_clipnorm': (
        'You used `clipnorm`, which rescales a gradient by its norm. This step asks for `clipvalue=3.0`, which clips each component to $[-3, 3]$ (see *Remedy: gradient clipping* and *Step 2*, item 2).'),
    'exploding_clip_value_wrong': (
        'The clipping threshold should be exactly `clipvalue=3.0` (see *Step 2*, item 2).'),
    'exploding_not_rebuilt': (
        'You kept training the Step 1 model. Its weights are already `nan`, so clipping cannot rescue it. Build a fresh model before compiling with clipping (see *Why rebuild?* in *Step 2*).'),
    'vanishing_units': (
        'The `SimpleRNN` layer needs exactly 600 units, or the pretrained weights will not fit it (see *Your task*, item 1).'),
    'vanishing_layer_type': (
        "Use `SimpleRNN`, not `LSTM` or `GRU`. The exercise is meant to show the plain RNN's vanishing gradient, and the saved weights belong to a `SimpleRNN` (see *Your task*, item 1 and *Remedies*)."),
    'vanishing_not_loaded': (
        "Load the pretrained weights with `model.load_weights('model_weights.h5')` after compiling (see *Your task*, item 3)."),
    'vanishing_retrained': (
        'Do not call `fit`. Training takes many minutes and its result is already in `history`, so just load the weights (see *The data and the pretrained model* and *Your task*, item 3).'),
    'vanishing_plotted_loss': (
        'Plot accuracy (`accuracy` and `val_accuracy`), not `loss`/`val_loss` (see *Your task*, item 4).'),
    'vanishing_one_curve': (
        'Plot both curves, training accuracy and validation accuracy, on the same axes: one plot, two lines (see *Your task*, item 4).'),
    'vanishing_no_legend': (
        'Give each curve a `label=` and call `plt.legend()` so the two curves can be told apart (see *Your task*, item 4).'),
    'vanishing_acc_key': (
        'The preloaded `history` was recorded with `metrics=[\'accuracy\']`, so its keys are `accuracy` and `val_accuracy`; Keras names the key after the metric asked for, and Keras 2 code often asked for `acc` (see the *Keras 3 note* in *Your task*, item 2).'),
}
