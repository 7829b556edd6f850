"""Reference LACP seed selection (the release's ``select_seed``), one video and one region at a time."""
import torch


def select_seeds(background: torch.Tensor, points: torch.Tensor, anchors: torch.Tensor, lengths: torch.Tensor,
                 bkg_thresh: float, act_thresh: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Pseudo background seeds and extra action seeds of LACP.

    Args:
        background: (B, T) float background score ``b(t)`` (the last CAS channel).
        points: (B, T, C) 0/1 bytes, 1 at each point's snippet and class; none past a video's length.
        anchors: (B, T) 0/1 bytes, 1 at the snippets holding a point (``points``' any over the classes).
        lengths: (B,) int64 video lengths.
        bkg_thresh, act_thresh: compared in ``background``'s dtype.

    Returns:
        act_seed (B, T, C) bool, bkg_seed (B, T) bool.

    Per video, with ``a_1 < ... < a_n`` the snippets holding a point: the stretch left of ``a_1``, the one
    right of ``a_n`` and every non-empty gap between consecutive points each get background seeds, then
    the points next to it spread their class row into it ("walks"). A video without points is all
    background.
    """
    high = torch.tensor(bkg_thresh, dtype=background.dtype, device=background.device)
    low = torch.tensor(act_thresh, dtype=background.dtype, device=background.device)
    act_seed = points.bool()
    bkg_seed = torch.zeros(background.shape, dtype=torch.bool, device=background.device)
    for video, length in enumerate(lengths.tolist()):
        score, act, bkg = background[video, :length], act_seed[video], bkg_seed[video]
        point_snippets = torch.nonzero(anchors[video, :length]).flatten().tolist()
        if not point_snippets:
            bkg[:length] = True
            continue

        def walk(snippets, point):
            # Copy the point's row into the snippets, in order, while they are b <= act_thresh and not
            # background seeds.
            for t in snippets:
                if not (score[t] <= low and not bkg[t]):
                    break
                act[t] = act[point]

        first, last = point_snippets[0], point_snippets[-1]
        if first > 0:
            hits = torch.nonzero(score[:first] >= high).flatten()
            end = int(hits[-1]) if hits.numel() else int(score[:first].argmax())
            bkg[:end + 1] = True
            walk(range(first - 1, -1, -1), first)
        if last < length - 1:
            hits = torch.nonzero(score[last + 1:] >= high).flatten()
            begin = last + 1 + (int(hits[0]) if hits.numel() else int(score[last + 1:].argmax()))
            bkg[begin:length] = True
            walk(range(last + 1, length), last)
        for left, right in zip(point_snippets, point_snippets[1:]):
            if right - left <= 1:
                continue
            gap = score[left + 1:right]
            hits = torch.nonzero(gap >= high).flatten()
            if hits.numel() >= 2:
                bkg[left + 1 + int(hits[0]):left + 2 + int(hits[-1])] = True
            else:
                bkg[left + 1 + int(gap.argmax())] = True
            walk(range(left + 1, right), left)
            walk(range(right - 1, left, -1), right)
    return act_seed, bkg_seed
