"""How close are a model's samples to the data? Two scores, and a Gaussian to beat.

A generative model is scored by comparing a set of its samples X with a set of
held-out examples Y, one number, lower is better.

**Points** are scored by the (squared) energy distance of Székely & Rizzo:

    D^2(X, Y) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|

with |.| the Euclidean distance and X, X' independent draws (likewise Y, Y').
It is 0 exactly when the two distributions are equal and positive otherwise,
it needs no density (a GAN has none), and it has no kernel width to tune: it
is the maximum mean discrepancy (MMD^2) with the kernel k(x, y) = -|x - y|.
The expectations are estimated without bias (each term averages over distinct
pairs only), so a perfect model scores 0 plus sampling noise, which can dip
just below 0.

**Images** are scored by the leave-one-out 1-nearest-neighbour two-sample
accuracy (Lopez-Paz & Oquab, 2017; Xu et al., 2018 found it the most telling
of the GAN scores they compared): pool the samples and the held-out images,
label each by where it came from, and guess each one's label from its nearest
*other* image (Euclidean distance on pixels). 0.5 means samples and data are
indistinguishable (the best), 1.0 that every sample's nearest neighbour is
another sample. The energy distance is a poor judge of images: in hundreds of
dimensions distances concentrate, |X - Y| depends almost only on the means and
covariances, and a Gaussian with the data's covariance scores nearly perfectly.

**Pictures with labels** (``shapes``) get three more scores, because the 1-NN
score is lenient on black-and-white pictures (``docs/picture_scores.md``):

* the Fréchet distance between Gaussians fitted to the *features* of real and
  generated pictures, as a classifier trained on the task's labels sees them
  (``judge.py``): FID in miniature (Heusel et al., 2017), 0 best;
* the class mix: the share of samples the classifier calls each class, and its
  largest gap to the data's share, in percentage points, 0 best;
* the grey share: how many sample pixels are neither black nor white (0 on
  ``shapes``, whose pixels are all 0 or 1).

The baseline every model must beat: a Gaussian with the data's mean and
covariance, fitted to the training split. It knows the data's position, scale
and correlation, and nothing of its shape (two moons, eight modes, strokes).
"""

from __future__ import annotations

from gradzoo.engine import backend

host = backend.array_module("cpu")  # scores are computed on the host, in float64


def pairwise_distances(a, b):
    """|a_i - b_j| for every row i of ``a`` and j of ``b`` (Euclidean), shape (len(a), len(b)).

    |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, computed for all pairs with one matrix product.
    """
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return host.sqrt(host.maximum(squared, 0.0))


def mean_distance_within(a) -> float:
    """E|A - A'| over distinct pairs (the diagonal, a point's distance to itself, left out)."""
    n = len(a)
    return float(pairwise_distances(a, a).sum() / (n * (n - 1)))


def energy_distance(samples, data) -> float:
    """Squared energy distance D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'| (0: same distribution).

    ``samples`` (n, D) and ``data`` (m, D), host arrays; n and m at least 2.
    """
    x = host.asarray(samples, dtype="float64").reshape(len(samples), -1)
    y = host.asarray(data, dtype="float64").reshape(len(data), -1)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"energy_distance needs at least 2 samples and 2 data points, "
                         f"got {len(x)} and {len(y)}")
    between = float(pairwise_distances(x, y).mean())
    return 2.0 * between - mean_distance_within(x) - mean_distance_within(y)


def nearest_neighbour_accuracy(samples, data) -> float:
    """Leave-one-out 1-NN accuracy telling samples from data: 0.5 is best, 1.0 is worst.

    ``samples`` (n, D) and ``data`` (n, D), host arrays of the same length.
    """
    pooled = host.concatenate([host.asarray(samples, dtype="float64").reshape(len(samples), -1),
                               host.asarray(data, dtype="float64").reshape(len(data), -1)])
    if not host.isfinite(pooled).all():
        return 1.0  # a NaN or infinite sample is told from the data by that alone: the worst
    from_data = host.arange(len(pooled)) >= len(samples)
    distances = pairwise_distances(pooled, pooled)
    host.fill_diagonal(distances, host.inf)            # leave one out: not its own neighbour
    nearest = distances.argmin(axis=1)
    return float((from_data[nearest] == from_data).mean())


SCORES = {"energy_distance": energy_distance, "nn_accuracy": nearest_neighbour_accuracy}


# ---------------------------------------------------------------------- pictures with a judge


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n, F) and (m, F): 0 best.

    FD = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    the squared 2-Wasserstein distance between N(mu_a, S_a) and N(mu_b, S_b). S_a S_b
    is not symmetric, but it has the eigenvalues of R S_b R with R = S_a^(1/2), which
    is symmetric and positive semi-definite: Tr (S_a S_b)^(1/2) = sum_i sqrt(lambda_i).
    """
    mean_a, covariance_a = fit_gaussian(features_a)
    mean_b, covariance_b = fit_gaussian(features_b)
    if not (host.isfinite(covariance_a).all() and host.isfinite(covariance_b).all()):
        return float("inf")  # NaN or infinite features (a diverged model): infinitely far
    root_a = symmetric_square_root(covariance_a)
    cross = host.linalg.eigvalsh(root_a @ covariance_b @ root_a)
    trace_of_root = host.sqrt(host.maximum(cross, 0.0)).sum()  # rounding can make 0 slightly < 0
    squared_mean_gap = float(((mean_a - mean_b) ** 2).sum())
    return squared_mean_gap + float(host.trace(covariance_a) + host.trace(covariance_b)
                                    - 2.0 * trace_of_root)


def symmetric_square_root(matrix):
    """R with R R = ``matrix`` for a symmetric positive semi-definite matrix: V sqrt(L) V^T."""
    eigenvalues, eigenvectors = host.linalg.eigh(matrix)
    return (eigenvectors * host.sqrt(host.maximum(eigenvalues, 0.0))) @ eigenvectors.T


def class_mix(classes, num_classes: int):
    """The share of pictures in each class: share_k = #{i : class_i = k} / n, shape (K,)."""
    classes = host.asarray(classes).astype("int64")
    return host.bincount(classes, minlength=num_classes)[:num_classes] / max(len(classes), 1)


def class_mix_gap(classes, data_shares) -> float:
    """max_k |share_k - data_share_k| in percentage points: 0 when the mix is the data's."""
    shares = class_mix(classes, len(data_shares))
    return float(100.0 * host.abs(shares - host.asarray(data_shares, dtype="float64")).max())


GREY_MARGIN = 0.1  # a pixel is grey when it lies more than 10% of the range from both ends


def grey_share(pictures, value_range=(0.0, 1.0)) -> float:
    """The share of pixel values that are neither black nor white, 0 for black-and-white pictures.

    grey: low + 0.1 (high - low) < v < high - 0.1 (high - low), so on [0, 1] strictly
    between 0.1 and 0.9; a value below 0.1 (even below 0) counts as black, above 0.9 as white.
    """
    low, high = value_range
    margin = GREY_MARGIN * (high - low)
    values = host.asarray(pictures, dtype="float64")
    return float(((values > low + margin) & (values < high - margin)).mean())


def fit_gaussian(data):
    """The mean (D,) and covariance (D, D) of ``data`` (n, D): the maximum-likelihood Gaussian."""
    x = host.asarray(data, dtype="float64").reshape(len(data), -1)
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / len(x)


def sample_gaussian(mean, covariance, n: int, seed):
    """``n`` draws from N(mean, covariance), reproducibly from ``seed``.

    x = mean + V sqrt(L) e with covariance = V L V^T (eigen-decomposition) and e ~ N(0, I);
    unlike a Cholesky factor this also works when some pixels never vary (L has zeros).
    """
    eigenvalues, eigenvectors = host.linalg.eigh(covariance)
    root = eigenvectors * host.sqrt(host.maximum(eigenvalues, 0.0))
    noise = backend.new_rng(seed).standard_normal((n, len(mean)))
    return mean + noise @ root.T
