"""How a paired (image, caption) model is scored: retrieval and zero-shot classification.

Both start from cosine similarities, host arrays with one row per image:

* **Retrieval** (recall@k). A pool of N held-out pairs gives an (N, N) matrix,
  image i against caption j. Image -> text: rank the N captions for each image;
  recall@k is the fraction of images whose k best captions hold the right one.
  Text -> image: the same down each column. Two pictures can share a caption
  (there are only so many sentences), so a retrieval counts as right when the
  retrieved caption's *text* equals the true one, whichever pair it came from;
  and image -> text ranks each different sentence once.
* **Zero-shot classification** (Radford et al. 2021, section 3.1). The model
  never saw a label, only captions; to ask "which shape is this?" compare the
  image with every caption that names a square, every one that names a disc,
  and so on, and pick the shape whose captions are most similar *on average*.
  Averaging the similarities over the other words of the sentence is CLIP's
  "prompt ensembling": it equals comparing the image with the mean of those
  captions' embeddings (CLIP also rescales that mean to length 1 first).

Each score comes with its chance level, what a model that ranks at random
gets on average, so the numbers can be read without knowing the task.
"""

from __future__ import annotations

from gradzoo.engine import backend

host = backend.array_module("cpu")


def recall_at_k(similarity, same_text, k: int) -> float:
    """Fraction of rows whose ``k`` most similar columns include one with the row's text.

    ``similarity`` (N, M); ``same_text`` (N, M) is True where column j's caption
    reads exactly like row i's true caption.
    """
    top = host.argsort(-similarity, axis=1, kind="stable")[:, :k]
    rows = host.arange(len(similarity))[:, None]
    return float(same_text[rows, top].any(axis=1).mean())


def chance_recall(same_text, k: int) -> float:
    """recall@k of a random ranking, averaged over the rows.

    A row with n right columns among M misses them all in k random picks with
    probability C(M - n, k) / C(M, k) = prod_{t<k} (M - n - t) / (M - t).
    """
    total = same_text.shape[1]
    right = same_text.sum(axis=1).astype("float64")
    miss = host.ones_like(right)
    for t in range(min(k, total)):
        miss *= host.clip(total - right - t, 0, None) / (total - t)
    return float((1.0 - miss).mean())


def retrieval_scores(similarity, caption_ids) -> dict[str, float]:
    """recall@1 and @5 both ways over a pool of pairs, their means, and chance.

    ``similarity`` (N, N): image i against caption j of the same N pairs;
    ``caption_ids`` (N,): which caption text each pair has (equal ids, equal text).
    Image -> text ranks the pool's *different* sentences: copies of one sentence
    have one embedding, and would otherwise fill the top 5 with a single answer.
    """
    texts, first = host.unique(caption_ids, return_index=True)
    to_text = caption_ids[:, None] == texts[None, :]               # (N, sentences)
    same_text = caption_ids[:, None] == caption_ids[None, :]       # (N, N)
    scores = {}
    for k in (1, 5):
        image_to_text = recall_at_k(similarity[:, first], to_text, k)
        text_to_image = recall_at_k(similarity.T, same_text.T, k)
        scores[f"recall_at_{k}"] = (image_to_text + text_to_image) / 2
        scores[f"image_to_text_r{k}"] = image_to_text
        scores[f"text_to_image_r{k}"] = text_to_image
        scores[f"chance_recall_at_{k}"] = (chance_recall(to_text, k)
                                           + chance_recall(same_text, k)) / 2
    return scores


def zero_shot_scores(similarity, candidate_labels, labels, names) -> dict[str, float]:
    """Zero-shot accuracy for each labelled property, and its chance level.

    ``similarity`` (N, C): N images against C candidate captions; column c
    names the classes ``candidate_labels[c]`` (one per property in ``names``);
    ``labels`` (N, len(names)) are the images' true classes. Each class scores
    the mean similarity of the captions that name it; the best class is the guess.
    """
    scores = {}
    for column, name in enumerate(names):
        classes = host.unique(candidate_labels[:, column])
        class_scores = host.stack([similarity[:, candidate_labels[:, column] == c].mean(axis=1)
                                   for c in classes], axis=1)
        guesses = classes[class_scores.argmax(axis=1)]
        scores[f"{name}_accuracy"] = float((guesses == labels[:, column]).mean())
        scores[f"chance_{name}"] = 1.0 / len(classes)  # the classes are drawn equally often
    return scores
