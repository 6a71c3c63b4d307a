"""Names vulture (``vulture grader vulture_whitelist.py --min-confidence 60``) cannot see used, each with who uses it.

Run by ``.ci/run`` at confidence 80 (what it reports there is dead for sure); at 60 this file keeps the report to
the names below, which are used where vulture does not look."""
from grader.authoring.calibration import conservative_model
from grader.bundle import shared_in
from grader.checks.cases import reference_training
from grader.checks.rubric import Rubric
from grader.given import MLP_SIZES, SEED, VAL_FRACTION, plot_history
from grader.interactive import CheckReport
from grader.sandbox.reply import BackpropReply, TrainingReply
from grader.similarity.scores import pair_score
from grader.submission.notebooks import leave_out, run_cell

conservative_model  # benchmarks/calibrate_accuracy.py
shared_in  # tests/test_bundles.py: what a whole bundle shares with the reference
reference_training  # tests: the grader's reference run, in the diagnosis and reference tests
Rubric.without  # benchmarks: a rubric without its accuracy stage
MLP_SIZES, SEED, VAL_FRACTION, plot_history  # the given code: reference/, student_template/, students' code
CheckReport._ipython_display_  # IPython's display protocol
BackpropReply.x_after, BackpropReply.y_after, BackpropReply.y_pred_changed  # the worker's reply, read as data
TrainingReply.returned_params  # the worker's reply, read as data
pair_score  # tests/similarity: the score matrix checked against the pair score
leave_out, run_cell  # called by the modules generated from notebooks
_.__signature__, _.__wrapped__  # inspect reads them (grader/sandbox/graded.py)
_.compress_type  # zipfile reads it (grader/bundle/__init__.py)
