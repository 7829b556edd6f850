"""The benchmarks ptal knows, as data: one :class:`DatasetSpec` per benchmark.

A description says what a run on the benchmark needs and nothing else: its classes, its splits (which one
trains, which one is evaluated, and the subset names its annotation files use for them), how features are
cut (frames per snippet at a frame rate), the tIoU thresholds of its protocol, where ptal keeps its
annotations, the name SF-Net's and W-TALC's releases give its files, how its training points are made by
default, and the model settings that differ from a family's defaults on it, each with its source.
``data.dataset`` in a config names one (``thumos14``, ``gtea``, ``beoid``); ``ptal.models`` builds that
dataset's defaults first and applies the config file and overrides over them (``ptal train --print-config``
shows the result). docs/datasets.md describes the benchmarks and their file layouts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PACKAGED = Path(__file__).parent
THUMOS_TIOU_THRESHOLDS = tuple(np.linspace(0.1, 0.7, 7).tolist())  # [0.1:0.1:0.7]: THUMOS14, GTEA, BEOID
ACTIVITYNET_TIOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())  # [0.5:0.05:0.95]: ActivityNet


@dataclass(frozen=True)
class Setting:
    """A config value a benchmark changes from a model family's default.

    Attributes:
        key: the dotted config key (``proposals.d_min``).
        value: its value on this benchmark.
        source: where the value comes from: a paper or release, or "ptal's choice" and the measurement that
            chose it.
    """

    key: str
    value: object
    source: str


@dataclass(frozen=True)
class TwinStatistics:
    """The published structure an embedded statistical twin is drawn to (a benchmark whose annotations ptal does
    not package): per split its number of videos and of instances, and the mean video duration.

    Attributes:
        videos, instances: split -> count.
        mean_duration: seconds, the mean video duration.
        source: where the numbers come from.
    """

    videos: Mapping[str, int]
    instances: Mapping[str, int]
    mean_duration: float
    source: str


@dataclass(frozen=True)
class DatasetSpec:
    """One benchmark.

    Attributes:
        name: the value of ``data.dataset``.
        title: the benchmark's usual spelling.
        class_names: its classes; the order of every class axis and of ``class_index`` in point-label CSVs.
        splits: split name -> the subset names that mean it in annotation files (``subset`` of an
            ActivityNet-style JSON or SF-Net's ``subset.npy``).
        train_split, eval_split: the split that trains and the one evaluated (the papers' protocol).
        frames_per_snippet, feature_fps: a feature covers this many frames of the video sampled at this rate
            (``feature_fps`` None: at the video's own frame rate).
        default_fps: the source frame rate of a video the annotation files give none for.
        tiou_thresholds: the thresholds of the benchmark's mAP.
        packaged: the folder holding the annotations ptal ships (``ptal/data/<name>``, see its PROVENANCE.md).
        sfnet_name: ``<sfnet_name>-I3D-JOINTFeatures.npy`` and ``<sfnet_name>-Annotations/`` in the SF-Net and
            W-TALC releases.
        points: the default of ``data.points``: ``annotations`` (the annotation folder's point_labels.csv) or a
            protocol of :mod:`ptal.data.points`.
        settings: per model family (``lacp``, ``apn``), the config values this benchmark changes.
        fixed_length: every video's features rescaled to this many snippets by linear interpolation (the default
            of ``data.fixed_length``; ActivityNet's 100); None: whole videos as extracted.
        twin: the statistics of the embedded twin, for a benchmark whose annotations ptal does not package
            (ActivityNet: the user downloads them); None: the twin is laid on the packaged annotations.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    splits: Mapping[str, tuple[str, ...]]
    train_split: str
    eval_split: str
    frames_per_snippet: int
    feature_fps: float | None
    default_fps: float
    tiou_thresholds: tuple[float, ...]
    sfnet_name: str
    points: str
    settings: Mapping[str, tuple[Setting, ...]] = field(default_factory=dict)
    fixed_length: int | None = None
    twin: TwinStatistics | None = None

    @property
    def packaged(self) -> Path:
        return PACKAGED / self.name

    def split_of_subset(self, subset: str) -> str | None:
        """The split a subset name of an annotation file belongs to (case ignored), or None."""
        for split, subsets in self.splits.items():
            if subset.lower() in (name.lower() for name in subsets):
                return split
        return None

    def describe(self, family: str | None = None) -> list[str]:
        """Lines describing the benchmark (and the settings it changes for ``family``), for people."""
        rate = "the video's own frame rate" if self.feature_fps is None else f"{self.feature_fps:g} fps"
        thresholds = ", ".join(f"{t:g}" for t in self.tiou_thresholds)
        snippets = (f"snippets of {self.frames_per_snippet} frames at {rate}" if self.fixed_length is None else
                    f"every video rescaled to {self.fixed_length} snippets (data.fixed_length)")
        lines = [f"{self.title} (data.dataset={self.name}): {len(self.class_names)} classes; splits "
                 f"{', '.join(self.splits)}; trains on {self.train_split}, evaluates {self.eval_split}",
                 f"{snippets}; mAP at tIoU {thresholds}; default points: {self.points}"]
        for setting in self.settings.get(family, ()) if family else ():
            lines.append(f"{setting.key}={setting.value}: {setting.source}")
        return lines

    def config_overrides(self, family: str) -> list[str]:
        """``key=value`` overrides of the model settings this benchmark changes for a family."""
        return [f"{setting.key}={setting.value}" for setting in self.settings.get(family, ())]


# Why the short-instance benchmarks change these (README, "Datasets"; measured on their twins, ptal's choices:
# neither paper nor release gives GTEA or BEOID settings).
_CLASS_THRESHOLD = ("LACP's video-level class selection: ptal's choice, 0.1 for 0.5: a class of a few short "
                    "instances rarely reaches a video score of 0.5 (BEOID twin, one trained model: AVG 34.5 -> 63.5)")
_D_MIN = ("APN's proposals may be one snippet long (ptal's choice; 16 % of GTEA's instances are shorter than a "
          "snippet: GTEA twin AVG 32.2 -> 48.3)")
_D_MAX = ("APN's longest proposal, 16 snippets for 64 (ptal's choice: the longest training instance is 15.6 "
          "(GTEA) and 15.0 (BEOID) snippets; BEOID twin AVG 26.7 -> 34.9)")


_SNIPPET_CLASSIFIER = ("APN with ptal's snippet classifier (docs/apn.md): the PEM's classifier does not generalise from "
                       "a few instances a class (BEOID: 34 classes, 46 training videos; ActivityNet: 200 classes)")
_CLASSES_CLUSTERED = ("the k-medoids pseudo labels cluster the snippet classifier's probabilities beside the input "
                      "and embedded features (ptal's choice: twin, seed 0, pseudo-label AVG on the training videos "
                      "and then AVG: {})")
_NO_BOUNDARY_SCORE = ("a detection's score leaves out the start and end probabilities p_s · p_e (ptal's choice for "
                      "instances one to three snippets long: one trained model each, seed 0, AVG GTEA 51.4 -> 58.0, "
                      "BEOID 65.6 -> 71.7; ActivityNet needs them: 41.2 -> 20.2 without)")
_SOFT_SIGMA = ("soft-NMS decays overlapping detections faster, sigma 0.3 for 0.5 (ptal's choice: the same models "
               "without p_s · p_e, AVG GTEA 58.0 -> 58.7, BEOID 71.7 -> 72.6)")
_CONTRAST = ("a proposal's snippet class probability less its mean over a quarter of its length on each side (ptal's "
             "choice: one trained model, seed 0, AVG {})")


def _r_act(value: int, quartile: float, measured: str) -> Setting:
    return Setting("model.r_act", value, f"LACP's top-k = T // r_act (ptal's choice: the upper quartile of T over "
                                         f"a class's snippets in a video, {quartile}, as THUMOS14's gives the "
                                         f"release's 8; {measured})")


THUMOS14 = DatasetSpec(
    name="thumos14",
    title="THUMOS14",
    # The class_index order of the LACP release.
    class_names=("BaseballPitch", "BasketballDunk", "Billiards", "CleanAndJerk", "CliffDiving",
                 "CricketBowling", "CricketShot", "Diving", "FrisbeeCatch", "GolfSwing",
                 "HammerThrow", "HighJump", "JavelinThrow", "LongJump", "PoleVault",
                 "Shotput", "SoccerPenalty", "TennisSwing", "ThrowDiscus", "VolleyballSpiking"),
    # THUMOS'14's validation videos train; the LACP release calls them "train", SF-Net's arrays "validation".
    splits={"train": ("train", "validation"), "test": ("test",)},
    train_split="train",
    eval_split="test",
    frames_per_snippet=16,
    feature_fps=25.0,  # videos resampled to 25 fps before I3D (LACP, W-TALC, SF-Net)
    default_fps=25.0,  # SF-Net's rate for a video without one
    tiou_thresholds=THUMOS_TIOU_THRESHOLDS,
    sfnet_name="Thumos14",
    points="annotations",  # LACP's Gaussian points, packaged
)

GTEA = DatasetSpec(
    name="gtea",
    title="GTEA",
    class_names=("stir", "open", "put", "close", "take", "pour", "scoop"),  # SF-Net's classlist.npy order
    splits={"training": ("training",), "validation": ("validation",)},
    train_split="training",
    eval_split="validation",
    frames_per_snippet=16,
    feature_fps=None,  # SF-Net's features: 16 frames at the video's own 15 fps
    default_fps=15.0,
    tiou_thresholds=THUMOS_TIOU_THRESHOLDS,
    sfnet_name="GTEA",
    points="uniform",  # SF-Net's protocol, which the APN paper follows
    settings={
        "lacp": (Setting("inference.class_threshold", 0.1, _CLASS_THRESHOLD),
                 _r_act(16, 14.7, "GTEA twin AVG 66.9 -> 67.2")),
        "apn": (Setting("proposals.d_min", 0, _D_MIN), Setting("proposals.d_max", 16, _D_MAX),
                Setting("pseudo.background", "video",
                        "one background medoid per video (ptal's choice: GTEA's instances nearly touch, "
                        "most gaps are under a snippet, and a medoid per gap takes their boundaries; initial "
                        "pseudo-label mAP@0.5 on the twin 16.2 -> 36.2)"),
                Setting("model.snippet_classifier", True, _SNIPPET_CLASSIFIER + "; on GTEA for the next setting"),
                Setting("pseudo.features", "classes", _CLASSES_CLUSTERED.format("53.0 -> 60.8, 42.2 -> 49.3")),
                Setting("inference.class_source", "both",
                        "the geometric mean of the PEM's and the snippets' class probabilities (ptal's choice: one "
                        "trained model, AVG 49.3; 49.4 the snippets alone, 46.3 the PEM alone)"),
                Setting("inference.snippet_contrast", 0.25, _CONTRAST.format("49.3 -> 51.4")),
                Setting("inference.boundary_score", False, _NO_BOUNDARY_SCORE),
                Setting("inference.soft_sigma", 0.3, _SOFT_SIGMA)),
    },
)

BEOID = DatasetSpec(
    name="beoid",
    title="BEOID",
    class_names=("rinse_cup", "move_rest", "take_cup", "open_door", "move_seat", "pull_drawer", "insert_wire",
                 "place_tape", "plug_plug", "pour_spoon", "pull-out_weight-pin", "switch-on_socket", "fill_cup",
                 "push_rowing-machine", "press_button", "pick-up_cup", "insert_weight-pin", "insert_foot",
                 "scoop_spoon", "take_spoon", "turn_tap", "pick-up_plug", "hold-down_button",
                 "rotate_weight-setting", "open_jar", "let-go_rowing-machine", "put_jar", "pull_rowing-machine",
                 "stir_spoon", "put_cup", "scan_card-reader", "push_drawer", "pick-up_jar", "pick-up_tape"),
    splits={"training": ("training",), "validation": ("validation",)},
    train_split="training",
    eval_split="validation",
    frames_per_snippet=16,
    feature_fps=None,  # 16 frames at the video's own 30 fps
    default_fps=30.0,
    tiou_thresholds=THUMOS_TIOU_THRESHOLDS,
    sfnet_name="BEOID",
    points="uniform",
    settings={
        "lacp": (Setting("inference.class_threshold", 0.1, _CLASS_THRESHOLD),
                 _r_act(32, 36.6, "BEOID twin AVG 55.1 -> 63.5")),
        "apn": (Setting("proposals.d_min", 0, _D_MIN), Setting("proposals.d_max", 16, _D_MAX),
                Setting("model.snippet_classifier", True, _SNIPPET_CLASSIFIER),
                Setting("inference.class_source", "snippets",
                        "proposals take their classes from the snippet classifier (ptal's choice: BEOID twin, seed "
                        "0, AVG 35.7 with the PEM's classes -> 54.6; 53.2 with the geometric mean of both)"),
                Setting("pseudo.features", "classes", _CLASSES_CLUSTERED.format("65.7 -> 72.1, 54.6 -> 64.1")),
                Setting("inference.snippet_contrast", 0.25, _CONTRAST.format("64.1 -> 65.6; 0.1: 65.6, 0.5: 65.0")),
                Setting("inference.boundary_score", False, _NO_BOUNDARY_SCORE),
                Setting("inference.soft_sigma", 0.3, _SOFT_SIGMA)),
    },
)


def _class_list(name: str) -> tuple[str, ...]:
    """The classes listed one per line in ``ptal/data/<name>/classes.txt`` (see its PROVENANCE.md)."""
    return tuple(line for line in (PACKAGED / name / "classes.txt").read_text(encoding="utf-8").splitlines() if line)


# ActivityNet (README, "ActivityNet"): the protocol of the weakly- and point-supervised papers (APN's Table 1, LACP):
# the validation subset evaluated at tIoU [0.5:0.05:0.95], features rescaled to T = 100 snippets, SF-Net's points.
_ANET_SOURCE = "the APN paper's protocol section and Table 1 (and LACP's)"
_ANET_SELECT = Setting("train.select_by", "average_0.5:0.95", f"ActivityNet's metric, AVG mAP[0.5:0.95] ({_ANET_SOURCE})")
_ANET_SETTINGS = {
    "lacp": (_ANET_SELECT,
             Setting("inference.max_classes", 2,
                     "the video-level scores choose at most 2 classes per video (ptal's choice: ActivityNet videos "
                     "hold one activity, rarely two; the usual practice of the weakly-supervised releases, whose "
                     "exact rules differ)"),
             Setting("inference.max_per_video", 100, "at most 100 predictions per video (ActivityNet's challenge rule, "
                                                     "and the usual cap of the releases)")),
    "apn": (_ANET_SELECT,
            Setting("inference.top_k", 100, "at most 100 predictions per video (ActivityNet's challenge rule)"),
            Setting("inference.max_classes", 2,
                    "the video-level scores (each class's best proposal score) choose at most 2 classes per video "
                    "(ptal's choice, as LACP's)"),
            Setting("proposals.d_max", 100, "proposals up to the whole video: ActivityNet's instances run from "
                                            "short to the whole video (the APN paper), here 100 snippets"),
            Setting("model.snippet_classifier", True, _SNIPPET_CLASSIFIER + "; 1.3 twin's tenth, seed 0: the PEM alone "
                                                      "stays at chance, AVG 0.0 -> 24.9 with class_source=both"),
            Setting("inference.class_source", "both", "the geometric mean of the PEM's and the snippets' class "
                                                      "probabilities (ptal's choice: AVG 24.9, snippets alone 21.8)"),
            Setting("loss.snippets", 2.0, "L_SNIP weighs 2 (ptal's choice: AVG 33.0 -> 35.5 with background=video)"),
            Setting("inference.snippet_contrast", 0.25, _CONTRAST.format("35.5 -> 41.2; 0.5: 39.1, 1.0: 35.8")),
            Setting("pseudo.background", "video",
                    "one background medoid per video (ptal's choice: one or two points a video leave gaps that "
                    "reach the video's ends; pseudo-label AVG[0.5:0.95] on the training videos 28.6 -> 32.1, "
                    "AVG 24.9 -> 33.0)")),
}


def _activitynet(version: str, twin: TwinStatistics) -> DatasetSpec:
    """ActivityNet ``version`` ("1.3", "1.2"): the official files' subsets ``training`` and ``validation`` (``testing``:
    labels withheld, not read); W-TALC's files ``ActivityNet<version>-I3D-JOINTFeatures.npy`` and
    ``ActivityNet<version>-Annotations/``."""
    name = "activitynet" + version.replace(".", "")
    return DatasetSpec(
        name=name,
        title=f"ActivityNet {version}",
        class_names=_class_list(name),
        splits={"training": ("training",), "validation": ("validation",)},
        train_split="training",
        eval_split="validation",
        frames_per_snippet=16,
        feature_fps=None,
        default_fps=30.0,  # the official files give durations, not frame rates; points are written at 30 fps
        tiou_thresholds=ACTIVITYNET_TIOU_THRESHOLDS,
        sfnet_name=f"ActivityNet{version}",
        points="uniform",  # SF-Net's protocol, as the APN paper
        settings=_ANET_SETTINGS,
        fixed_length=100,
        twin=twin,
    )


ACTIVITYNET13 = _activitynet("1.3", TwinStatistics(
    videos={"training": 10_024, "validation": 4_926}, instances={"training": 15_410, "validation": 7_654},
    mean_duration=648 * 3600 / 19_994,
    source="activity-net.org/download.html and Heilbron et al., CVPR 2015: 10 024 training videos (15 410 "
           "instances), 4 926 validation (7 654), 5 044 test; 648 hours of video over the 19 994"))
ACTIVITYNET12 = _activitynet("1.2", TwinStatistics(
    videos={"training": 4_819, "validation": 2_383},
    # 1.2's instance counts are not stated beside its video counts: 1.3's 1.54 instances per video (ptal's choice).
    instances={"training": round(4_819 * 15_410 / 10_024), "validation": round(2_383 * 7_654 / 4_926)},
    mean_duration=648 * 3600 / 19_994,
    source="activity-net.org/download.html: 4 819 training and 2 383 validation videos, 100 classes; instances "
           "per video and durations as 1.3's (ptal's choice)"))

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (THUMOS14, GTEA, BEOID, ACTIVITYNET13, ACTIVITYNET12)}


def dataset_spec(name: str) -> DatasetSpec:
    """The description of ``data.dataset=name``; ValueError listing the known ones otherwise."""
    if name not in DATASETS:
        raise ValueError(f"unknown data.dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]
