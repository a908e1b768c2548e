"""Skip connections are drawn beside the column they jump over, not through its nodes."""

from PySide6.QtCore import QPointF

from resnet_studio.ui.design.edge_item import SKIP_SIDE, curve
from resnet_studio.ui.shell import theme


def test_an_edge_to_the_next_row_stays_a_plain_s_curve():
    path = curve(QPointF(0, 33), QPointF(0, 67))
    assert path.boundingRect().width() < 1


def test_a_skip_over_several_rows_runs_in_a_lane_right_of_the_column():
    start, end = QPointF(0, 33), QPointF(0, 33 + 4 * 100)
    box = curve(start, end).boundingRect()
    assert box.right() >= SKIP_SIDE - 1
    assert box.right() > theme.NODE_WIDTH / 2  # clear of the nodes it skips
    mid = curve(start, end).pointAtPercent(0.5)
    assert mid.x() > theme.NODE_WIDTH / 2


def test_an_edge_between_columns_is_not_rerouted():
    box = curve(QPointF(0, 33), QPointF(220, 433)).boundingRect()
    assert box.right() <= 220 + 1
