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
    from_data = host.arange(len(pooled)) >= len(samples)
    distances = pairwise_distances(pooled, pooled)
    host.fill_diagonal(distances, host.inf)            # leave one out: not its own neighbour
    nearest = distances.argmin(axis=1)
    return float((from_data[nearest] == from_data).mean())


SCORES = {"energy_distance": energy_distance, "nn_accuracy": nearest_neighbour_accuracy}


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


def gaussian_baseline(score, train_data, held_out, seed) -> float:
    """``score`` of a Gaussian fitted to ``train_data``, against ``held_out``."""
    mean, covariance = fit_gaussian(train_data)
    return score(sample_gaussian(mean, covariance, len(held_out), seed), held_out)
