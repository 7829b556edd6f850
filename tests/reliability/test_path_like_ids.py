"""Video ids become file names (features, pictures): an id that looks like a path is refused where ids are read,
naming the file, before anything is written (ptal.data.features.check_video_id)."""
import json

import pytest

from ptal.cli import main
from ptal.data import LacpFeatures, NpyFeatures
from tests.reliability.corrupt import PATH_LIKE
from tests.reliability.mini import write_mini_thumos14

# Ids with a separator, "." and ".."; ("" is a blank line of a split file, and "~" is a plain character.)
ESCAPING = [video_id for video_id in PATH_LIKE if video_id and not video_id.startswith("~")]


def rename_video(folder, old: str, new: str) -> None:
    """Rename a video everywhere in a THUMOS14 folder, consistently."""
    for name in ("gt.json", "fps_dict.json", "split_train.txt", "split_test.txt", "point_labels.csv"):
        path = folder / name
        if name.endswith(".json"):
            document = json.loads(path.read_text())
            table = document["database"] if "database" in document else document
            renamed = {new if key == old else key: value for key, value in table.items()}
            path.write_text(json.dumps({"database": renamed} if "database" in document else renamed))
        else:
            path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize("video_id", ESCAPING)
def test_a_path_like_id_in_the_annotations_is_refused_before_any_write(tmp_path, capsys, video_id):
    annotations = write_mini_thumos14(tmp_path / "deep" / "er" / "annotations")
    test_video = (annotations / "split_test.txt").read_text().split()[0]
    rename_video(annotations, test_video, video_id)
    out = tmp_path / "deep" / "er" / "out"
    assert main(["data", "synth", "--annotations", str(annotations), "--d", "2", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"ptal data: error: {annotations / 'split_test.txt'}: video id {video_id!r} is not a "
                            f"plain file name") and error.count("\n") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "annotations" not in p.parts) == []


@pytest.mark.parametrize("video_id", ESCAPING)
def test_feature_readers_refuse_a_path_like_id(tmp_path, video_id):
    for source in (NpyFeatures(tmp_path, 4), LacpFeatures(tmp_path, "train", 4)):
        with pytest.raises(ValueError, match="is not a plain file name"):
            source.length(video_id)
