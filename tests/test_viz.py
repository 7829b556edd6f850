import numpy as np
import pytest
from matplotlib.colors import to_rgb

from ptal.viz import Timeline, class_colour, draw_timeline, timeline_figure

CLASSES = [f"class{c}" for c in range(25)]


def axes_named(figure, name: str):
    (axes,) = [ax for ax in figure.axes if ax.get_label() == name]
    return axes


def patch_colours(axes) -> set[tuple[float, float, float]]:
    return {tuple(np.round(patch.get_facecolor()[:3], 6)) for patch in axes.patches}


def rgb(c: int) -> tuple[float, float, float]:
    return tuple(np.round(to_rgb(class_colour(c)), 6))


def test_prediction_bars_are_labelled_with_class_and_score_best_first():
    predictions = [(10.0, 12.0, 3, 0.83), (0.0, 100.0, 5, 0.9), (95.0, 99.0, 4, 0.1), (40.0, 41.0, 3, 0.5)]
    figure = timeline_figure(Timeline("v", CLASSES, 100.0, predictions=predictions))
    labels = [text.get_text() for text in axes_named(figure, "predictions").texts]
    assert labels == ["class5 0.90", "class3 0.83", "class3 0.50", "class4 0.10"]


def test_only_the_best_predictions_are_drawn_and_labelled():
    predictions = [(float(i), i + 1.0, i % 3, i / 100) for i in range(40)]
    figure = timeline_figure(Timeline("v", CLASSES, 50.0, predictions=predictions, max_predictions=15))
    axes = axes_named(figure, "predictions")
    assert len(axes.patches) == 15 and axes.get_title() == "top 15 predictions"
    assert [text.get_text() for text in axes.texts][:2] == ["class0 0.39", "class2 0.38"]


def test_a_class_has_one_colour_in_every_row_and_picture():
    first = Timeline("a", CLASSES, 60.0, ground_truth=[(0.0, 5.0, 7), (10.0, 20.0, 2)],
                     predictions=[(0.0, 5.0, 7, 0.9)], pseudo_labels={"class7": (7, np.array([0, 1, 1, 0]))})
    second = Timeline("b", CLASSES, 60.0, ground_truth=[(30.0, 35.0, 11), (40.0, 45.0, 7)],
                      predictions=[(30.0, 35.0, 11, 0.8), (40.0, 44.0, 7, 0.7)], points=[(42.0, 7)])
    first_figure, second_figure = timeline_figure(first), timeline_figure(second)
    assert patch_colours(axes_named(first_figure, "ground truth")) == {rgb(7), rgb(2)}
    assert patch_colours(axes_named(first_figure, "predictions")) == {rgb(7)}
    assert patch_colours(axes_named(first_figure, "pseudo labels")) == {rgb(7)}
    assert patch_colours(axes_named(second_figure, "ground truth")) == {rgb(7), rgb(11)}
    assert patch_colours(axes_named(second_figure, "predictions")) == {rgb(7), rgb(11)}
    (point_marker,) = axes_named(second_figure, "ground truth").lines[1:]
    assert tuple(np.round(to_rgb(point_marker.get_color()), 6)) == rgb(7)
    for figure in (first_figure, second_figure):
        legend = figure.legends[0]
        colours = {text.get_text(): tuple(np.round(handle.get_facecolor()[:3], 6))
                   for text, handle in zip(legend.get_texts(), legend.legend_handles)}
        assert colours["class7"] == rgb(7)


def test_class_colours_are_distinct_for_twenty_classes_then_repeat():
    assert len({rgb(c) for c in range(20)}) == 20
    assert rgb(20) == rgb(0) and rgb(23) == rgb(3)


@pytest.mark.parametrize("points, ground_truth, title", [
    ([(3.0, 1)], [(1.0, 4.0, 1)], "v: ground truth and points"),
    ([], [(1.0, 4.0, 1)], "v: ground truth"),
    ([], [], "v: no ground truth"),
])
def test_the_title_names_only_what_is_drawn(points, ground_truth, title):
    figure = timeline_figure(Timeline("v", CLASSES, 10.0, ground_truth=ground_truth, points=points))
    assert axes_named(figure, "ground truth").get_title() == title
    assert [ax.get_label() for ax in figure.axes] == ["ground truth", "predictions"]  # no empty rows


def test_draw_timeline_writes_a_png_atomically(tmp_path):
    path = tmp_path / "timeline.png"
    timeline = Timeline("v", CLASSES, 30.0, ground_truth=[(1.0, 4.0, 1)], points=[(2.0, 1)],
                        sequences={"CAS class1": (1, np.linspace(0, 1, 40)), "background": (None, np.ones(40) / 2)},
                        predictions=[(1.0, 5.0, 1, 0.75)], proposals=[(1.0, 5.0, 0.5)])
    draw_timeline(timeline, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.png"]
