"""A corpus of realistic scalar losses, written in the input language the way
practitioners write them: regression, classification, generalised linear models, robust
losses, networks, autoencoders, Gaussian models, trace and log-det objectives, matrix
factorisation, attention, normalisation layers, deep compositions and multi-term losses.

Each entry is `Case(name, source, shapes, wrt)`: the text, its shape declarations (in the
command line's "X: m,n; w: n" form), and the comma-separated variables to differentiate
by. Every case has a domain that the random points of `matgrad.verify` honour (standard
normal entries, square matrices near 2I, positive entries on a retry), so its gradients
can be checked numerically.

The sections are kept apart in SECTIONS; CORPUS is all of them in order.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    shapes: str
    wrt: str

    @property
    def wrt_names(self) -> list:
        return [s.strip() for s in self.wrt.split(",") if s.strip()]


# Linear, ridge, lasso-like (smoothed) and weighted least squares.
LINEAR = [
    Case("ols_norm", "norm(X @ w - y)**2",
         "X: m,n; w: n; y: m", "w, X"),
    Case("ols_residual_assign", "r = X @ w - y; L = r.T @ r / (2 * m)",
         "X: m,n; w: n; y: m", "w, X, y"),
    Case("ridge", "norm(X @ w - y)**2 + lam * norm(w)**2",
         "X: m,n; w: n; y: m; lam: scalar", "w, lam"),
    Case("ridge_dot", "r = y - X @ w; L = dot(r, r) / m + lam * dot(w, w)",
         "X: m,n; w: n; y: m; lam: scalar", "w, X"),
    Case("elastic_net_smooth",
         "r = X @ w + b - y; L = r.T @ r / m + l1 * sum(sqrt(w**2 + 0.01)) + l2 * w.T @ w",
         "X: m,n; w: n; b: scalar; y: m; l1: scalar; l2: scalar", "w, b, l1, l2"),
    Case("weighted_ls_diag", "(X @ w - y).T @ diag(c) @ (X @ w - y)",
         "X: m,n; w: n; y: m; c: m", "w, c"),
    Case("generalised_ls", "(y - X @ w).T @ inv(S) @ (y - X @ w)",
         "X: m,n; w: n; y: m; S: m,m symmetric", "w, S"),
    Case("multi_output_ridge_trace",
         "trace((X @ W - Y).T @ (X @ W - Y)) + lam * trace(W.T @ W)",
         "X: m,n; W: n,k; Y: m,k; lam: scalar", "W, Y"),
    Case("ols_normal_equations_fit",
         "w = inv(X.T @ X) @ X.T @ y; L = norm(X @ w - y)**2",
         "X: m,n; y: m", "X, y"),
    Case("ridge_closed_form_fit",
         "w = inv(X.T @ X + lam * eye(n)) @ X.T @ y; L = norm(X @ w - y)**2",
         "X: m,n; y: m; lam: scalar", "X, y"),
]

# Logistic regression: binary with a weight vector, multi-label with a weight matrix and
# a bias row.
LOGISTIC = [
    Case("logistic_log_sigmoid",
         "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(sigmoid(-(X @ w)))) / m",
         "X: m,n; w: n; y: m", "w, X"),
    Case("logistic_bias_assign",
         "z = X @ w + b; L = -mean(y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))",
         "X: m,n; w: n; b: scalar; y: m", "w, b"),
    Case("logistic_softplus_l2",
         "sum(softplus(X @ w) - y * (X @ w)) / m + lam * norm(w)**2",
         "X: m,n; w: n; y: m; lam: scalar", "w, lam"),
    Case("logistic_pm1_labels", "sum(log(1 + exp(-(y * (X @ w + b)))))",
         "X: m,n; w: n; b: scalar; y: m", "w, b, X"),
    Case("logistic_matrix_bias",
         "Z = X @ W + b; L = sum(softplus(Z) - Y * Z) / m",
         "X: m,n; W: n,k; b: 1,k; Y: m,k", "W, b"),
    Case("logistic_matrix_log_sigmoid",
         "-sum(Y * log(sigmoid(X @ W + b)) + (1 - Y) * log(sigmoid(-(X @ W + b))))",
         "X: m,n; W: n,k; b: 1,k; Y: m,k", "W, b, X"),
    Case("logistic_matrix_weight_decay",
         "Z = X @ W + b; L = mean(sum(softplus(Z) - Y * Z, axis=1)) + lam * norm(W)**2",
         "X: m,n; W: n,k; b: 1,k; Y: m,k; lam: scalar", "W, b"),
    Case("focal_loss",
         "p = sigmoid(X @ w); "
         "L = -sum(y * (1 - p)**2 * log(p) + (1 - y) * p**2 * log(1 - p))",
         "X: m,n; w: n; y: m", "w"),
]

# Multinomial logistic regression: softmax and logsumexp over vectors; batches spelled
# with sums along an axis.
MULTINOMIAL = [
    Case("softmax_ce_logsumexp", "logsumexp(W @ x + b) - y.T @ (W @ x + b)",
         "W: k,n; x: n; b: k; y: k", "W, b, x"),
    Case("softmax_ce_log", "-y.T @ log(softmax(W @ x))",
         "W: k,n; x: n; y: k", "W, x"),
    Case("softmax_ce_weight_decay",
         "z = W @ x + b; L = -dot(y, log(softmax(z))) + lam * norm(W)**2",
         "W: k,n; x: n; b: k; y: k; lam: scalar", "W, b, lam"),
    Case("softmax_batch_logsumexp_by_rows",
         "Z = X @ W; L = sum(log(sum(exp(Z), axis=1))) - sum(Y * Z)",
         "X: m,n; W: n,k; Y: m,k", "W, X"),
    Case("softmax_batch_probabilities",
         "Z = X @ W + b; P = exp(Z) / sum(exp(Z), axis=1); L = -sum(Y * log(P)) / m",
         "X: m,n; W: n,k; b: 1,k; Y: m,k", "W, b"),
    Case("label_smoothing",
         "p = softmax(W @ x); L = -(1 - a) * y.T @ log(p) - a / k * sum(log(p))",
         "W: k,n; x: n; y: k; a: scalar", "W, a"),
    Case("kl_between_softmaxes",
         "p = softmax(a); q = softmax(c); L = dot(p, log(p) - log(q))",
         "a: k; c: k", "a, c"),
]

# Poisson and other generalised linear models with a log link.
POISSON = [
    Case("poisson", "sum(exp(X @ w) - y * (X @ w))",
         "X: m,n; w: n; y: m", "w, X"),
    Case("poisson_bias_l2",
         "eta = X @ w + b; L = sum(exp(eta) - y * eta) / m + lam * w.T @ w",
         "X: m,n; w: n; b: scalar; y: m; lam: scalar", "w, b"),
    Case("poisson_softplus_link", "mu = softplus(X @ w); L = sum(mu - y * log(mu))",
         "X: m,n; w: n; y: m", "w, X"),
    Case("negative_binomial", "eta = X @ w; L = sum((y + a) * softplus(eta) - y * eta)",
         "X: m,n; w: n; y: m; a: scalar", "w, a"),
    Case("gamma_log_link", "eta = X @ w; L = sum(y * exp(-eta) + eta)",
         "X: m,n; w: n; y: m", "w"),
]

# Robust losses: log-cosh, pseudo-Huber and friends.
ROBUST = [
    Case("log_cosh_exp", "r = X @ w - y; L = sum(log((exp(r) + exp(-r)) / 2))",
         "X: m,n; w: n; y: m", "w, y"),
    Case("log_cosh_softplus", "r = X @ w - y; L = sum(r + softplus(-2 * r) - log(2))",
         "X: m,n; w: n; y: m", "w"),
    Case("pseudo_huber", "r = X @ w - y; L = d**2 * sum(sqrt(1 + (r / d)**2) - 1)",
         "X: m,n; w: n; y: m; d: scalar", "w, d"),
    Case("pseudo_huber_matrix", "sum(sqrt(1 + (Y - U @ V.T)**2) - 1)",
         "Y: m,n; U: m,k; V: n,k", "U, V"),
    Case("cauchy_loss", "sum(log(1 + (X @ w - y)**2))",
         "X: m,n; w: n; y: m", "w"),
    Case("smooth_abs_softplus", "r = X @ w - y; L = sum(softplus(r) + softplus(-r))",
         "X: m,n; w: n; y: m", "w"),
]

# One- and two-layer networks.
NETWORKS = [
    Case("readme_relu_network",
         "z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m",
         "X: m,n; w: n; b: scalar; y: m", "X, w, b"),
    Case("readme_relu_network_inline", "sum((relu(X @ w + b) - y)**2) / m",
         "X: m,n; w: n; b: scalar; y: m", "w, b, X"),
    Case("two_layer_relu_batch",
         "H = relu(X @ W1 + b1); L = norm(H @ w2 + b2 - y)**2 / m",
         "X: m,n; W1: n,h; b1: 1,h; w2: h; b2: scalar; y: m", "W1, b1, w2, b2"),
    Case("two_layer_tanh_vector",
         "h = tanh(W1 @ x + b1); yhat = W2 @ h + b2; L = norm(yhat - y)**2",
         "x: n; W1: p,n; b1: p; W2: k,p; b2: k; y: k", "W1, b1, W2, b2"),
    Case("sigmoid_hidden_softmax_out",
         "h = sigmoid(W1 @ x + b1); z = W2 @ h + b2; L = logsumexp(z) - y.T @ z",
         "x: n; W1: p,n; b1: p; W2: k,p; b2: k; y: k", "W1, b1, W2, b2"),
    Case("two_layer_tanh_classifier_batch",
         "H = tanh(X @ W1 + b1); Z = H @ W2 + b2; "
         "L = sum(log(sum(exp(Z), axis=1))) - sum(Y * Z)",
         "X: m,n; W1: n,h; b1: 1,h; W2: h,k; b2: 1,k; Y: m,k", "W1, b1, W2, b2"),
    Case("two_layer_weight_decay",
         "H = relu(X @ W1); R = H @ W2 - Y; "
         "L = sum(R**2) / m + lam * (norm(W1)**2 + norm(W2)**2)",
         "X: m,n; W1: n,h; W2: h,k; Y: m,k; lam: scalar", "W1, W2"),
    Case("residual_block",
         "h = x + W2 @ relu(W1 @ x + b1); L = norm(h - y)**2",
         "x: n; W1: p,n; b1: p; W2: n,p; y: n", "W1, b1, W2, x"),
    Case("tanh_sigmoid_scalar_biases",
         "s = v.T @ tanh(W @ x + b) + c; "
         "L = -(t * log(sigmoid(s)) + (1 - t) * log(sigmoid(-s)))",
         "x: n; W: h,n; b: scalar; v: h; c: scalar; t: scalar", "W, b, v, c"),
    Case("gated_linear_unit",
         "h = (W @ x) * sigmoid(V @ x); L = norm(U @ h - y)**2",
         "x: n; W: p,n; V: p,n; U: k,p; y: k", "W, V, U"),
]

# Autoencoders.
AUTOENCODERS = [
    Case("linear_ae_tied", "norm(X - X @ W @ W.T)**2",
         "X: m,n; W: n,k", "W, X"),
    Case("tanh_ae",
         "H = tanh(X @ E + b); R = H @ D + c; L = norm(R - X)**2 / m",
         "X: m,n; E: n,k; b: 1,k; D: k,n; c: 1,n", "E, b, D, c"),
    Case("sigmoid_ae_tied_sparsity",
         "H = sigmoid(X @ W); L = norm(H @ W.T - X)**2 + beta * sum(H) / m",
         "X: m,n; W: n,k; beta: scalar", "W, beta"),
    Case("bce_ae",
         "h = relu(E @ x + b); xhat = sigmoid(D @ h + c); "
         "L = -sum(x * log(xhat) + (1 - x) * log(1 - xhat))",
         "x: n; E: k,n; b: k; D: n,k; c: n", "E, b, D, c"),
    Case("denoising_ae", "norm(D @ tanh(E @ (x + e)) - x)**2",
         "x: n; e: n; E: k,n; D: n,k", "E, D, x"),
    Case("vae_gaussian",
         "mu = E @ x; ls = F @ x; z = mu + exp(ls) * e; "
         "L = norm(D @ z - x)**2 + sum(exp(2 * ls) + mu**2 - 1 - 2 * ls) / 2",
         "x: n; e: k; E: k,n; F: k,n; D: n,k", "E, F, D"),
]

# Gaussian likelihoods, Gaussian processes and mixtures.
GAUSSIAN = [
    Case("gp_nll_symmetric", "logdet(K) + y.T @ inv(K) @ y",
         "K: n,n symmetric; y: n", "K, y"),
    Case("gp_linear_kernel",
         "K = X @ X.T + s * eye(n); L = logdet(K) + y.T @ inv(K) @ y",
         "X: n,d; s: scalar; y: n", "X, s, y"),
    Case("gp_rbf_kernel",
         "s = sum(X**2, axis=1); D = s @ ones(1, n) + ones(n) @ s.T - 2 * X @ X.T; "
         "K = exp(-D / 2) + 0.1 * eye(n); L = logdet(K) + y.T @ inv(K) @ y",
         "X: n,d; y: n", "X, y"),
    Case("mvn_nll_covariance", "((x - mu).T @ inv(S) @ (x - mu) + logdet(S)) / 2",
         "x: n; mu: n; S: n,n symmetric", "mu, S, x"),
    Case("mvn_nll_precision", "(x - mu).T @ P @ (x - mu) / 2 - logdet(P) / 2",
         "x: n; mu: n; P: n,n symmetric", "mu, P"),
    Case("mvn_nll_batch",
         "R = X - ones(m) @ mu.T; L = m * logdet(S) + trace(inv(S) @ R.T @ R)",
         "X: m,n; mu: n; S: n,n symmetric", "mu, S"),
    Case("factor_analysis",
         "C = W @ W.T + diag(exp(psi)); L = logdet(C) + trace(inv(C) @ S)",
         "W: n,k; psi: n; S: n,n symmetric", "W, psi"),
    Case("heteroscedastic_regression",
         "r = y - X @ w; v = X @ u; L = sum(r**2 * exp(-v) + v) / 2",
         "X: m,n; w: n; u: n; y: m", "w, u"),
    Case("gaussian_kl",
         "d = m1 - m0; "
         "L = (trace(inv(S1) @ S0) + d.T @ inv(S1) @ d - n + logdet(S1) - logdet(S0)) / 2",
         "m0: n; m1: n; S0: n,n symmetric; S1: n,n symmetric", "m0, m1, S0, S1"),
    Case("gaussian_mixture_unit_cov",
         "ll = log(softmax(a)) - sum((ones(k) @ x.T - M)**2, axis=1) / 2; "
         "L = -logsumexp(ll)",
         "a: k; x: n; M: k,n", "a, M, x"),
]

# Mahalanobis distances and metric learning.
MAHALANOBIS = [
    Case("mahalanobis_metric", "(x - y).T @ M @ (x - y)",
         "x: n; y: n; M: n,n symmetric", "M, x"),
    Case("mahalanobis_inverse_cov", "sqrt((x - mu).T @ inv(S) @ (x - mu))",
         "x: n; mu: n; S: n,n symmetric", "mu, S"),
    Case("metric_learning_factor", "norm((X - Y) @ A.T)**2 / m",
         "X: m,n; Y: m,n; A: k,n", "A"),
    Case("triplet_softplus",
         "d1 = (x - y).T @ M @ (x - y); d2 = (x - z).T @ M @ (x - z); "
         "L = softplus(1 + d1 - d2)",
         "x: n; y: n; z: n; M: n,n", "M, x, y, z"),
]

# Trace objectives.
TRACE = [
    Case("trace_axbxt", "trace(A @ X @ B @ X.T)",
         "A: m,m; X: m,n; B: n,n", "X, A, B"),
    Case("trace_ratio", "trace(X.T @ A @ X) / trace(X.T @ B @ X)",
         "X: m,n; A: m,m symmetric; B: m,m symmetric", "X, A, B"),
    Case("trace_inv_projection", "trace(inv(V @ S @ V.T))",
         "V: k,n; S: n,n symmetric", "V, S"),
    Case("readme_trace_inv_logdet", "trace(inv(A) @ B) + logdet(A)",
         "A: n,n; B: n,n", "A, B"),
    Case("graph_laplacian_smoothing", "trace(F.T @ Lap @ F) + lam * norm(F - Y)**2",
         "F: n,k; Lap: n,n symmetric; Y: n,k; lam: scalar", "F, lam"),
    Case("sylvester_residual", "norm(A @ X + X @ B - C)**2",
         "A: m,m; X: m,n; B: n,n; C: m,n", "X, A, B"),
]

# Matrix factorisation.
FACTORISATION = [
    Case("mf_ridge", "norm(Y - U @ V.T)**2 + lam * (norm(U)**2 + norm(V)**2)",
         "Y: m,n; U: m,k; V: n,k; lam: scalar", "U, V, lam"),
    Case("mf_masked",
         "sum(M * (Y - U @ V.T)**2) + lam * (sum(U**2) + sum(V**2))",
         "Y: m,n; M: m,n; U: m,k; V: n,k; lam: scalar", "U, V"),
    Case("mf_biases", "sum((Y - U @ V.T - a - c)**2) + lam * (norm(U)**2 + norm(V)**2)",
         "Y: m,n; U: m,k; V: n,k; a: m; c: 1,n; lam: scalar", "U, V, a, c"),
    Case("nmf_kl", "W = exp(A); H = exp(B); R = W @ H; L = sum(R - Y * log(R))",
         "Y: m,n; A: m,k; B: k,n", "A, B"),
    Case("logistic_mf", "Z = U @ V.T; L = sum(softplus(Z) - Y * Z)",
         "Y: m,n; U: m,k; V: n,k", "U, V"),
]

# PCA-style reconstruction and variance objectives.
PCA = [
    Case("pca_reconstruction_codes", "norm(X - Z @ W.T)**2 / m",
         "X: m,n; Z: m,k; W: n,k", "Z, W"),
    Case("pca_orthogonality_penalty",
         "-trace(W.T @ X.T @ X @ W) / m + lam * norm(W.T @ W - eye(k))**2",
         "X: m,n; W: n,k; lam: scalar", "W, X"),
    Case("ppca_nll",
         "C = W @ W.T + exp(t) * eye(n); L = logdet(C) + trace(inv(C) @ S)",
         "W: n,k; t: scalar; S: n,n symmetric", "W, t"),
    Case("rayleigh_quotient", "(w.T @ C @ w) / (w.T @ w)",
         "w: n; C: n,n symmetric", "w, C"),
    Case("pca_projection_residual", "norm(X.T - W @ W.T @ X.T)**2",
         "X: m,n; W: n,k", "W"),
]

# Attention-like scores.
ATTENTION = [
    Case("dot_product_attention",
         "s = K @ q / sqrt(d); a = softmax(s); o = V.T @ a; L = norm(o - y)**2",
         "K: t,d; q: d; V: t,e; y: e", "K, q, V"),
    Case("attention_projections",
         "q = Wq @ x; K = X @ Wk.T; V = X @ Wv.T; a = softmax(K @ q); "
         "L = norm(V.T @ a - y)**2",
         "x: n; X: t,n; Wq: d,n; Wk: d,n; Wv: e,n; y: e", "Wq, Wk, Wv, X"),
    Case("attention_row_scores",
         "a = softmax((q.T @ K.T).T); L = -dot(y, log(V.T @ a + 3))",
         "q: d; K: t,d; V: t,e; y: e", "q, K"),
    Case("attention_pooling_classifier",
         "a = softmax(H @ u); c = H.T @ a; z = W @ c; L = logsumexp(z) - y.T @ z",
         "H: t,n; u: n; W: k,n; y: k", "H, u, W"),
    Case("additive_attention",
         "s = tanh(H @ W + (U @ q).T) @ v; a = softmax(s); L = norm(H.T @ a - y)**2",
         "H: t,n; W: n,d; U: d,k; q: k; v: d; y: n", "W, U, v, q"),
    Case("attention_entropy", "a = softmax(K @ q); L = -dot(a, log(a))",
         "K: t,d; q: d", "K, q"),
]

# Normalisation-layer statistics.
NORMALISATION = [
    Case("layer_norm_affine",
         "mu = sum(x) / n; v = sum((x - mu)**2) / n; y = (x - mu) / sqrt(v + 1e-5); "
         "L = norm(g * y + b - t)**2",
         "x: n; g: n; b: n; t: n", "x, g, b"),
    Case("layer_norm_after_linear",
         "z = W @ x; mu = mean(z); v = mean((z - mu)**2); h = (z - mu) / sqrt(v + 1e-5); "
         "L = dot(c, tanh(h))",
         "W: k,n; x: n; c: k", "W, x"),
    Case("batch_norm_columns",
         "C = X - mean(X, axis=0); V = mean(C**2, axis=0); Y = C / sqrt(V + 1e-5); "
         "L = norm(Y @ W - T)**2",
         "X: m,n; W: n,k; T: m,k", "X, W"),
    Case("rms_norm",
         "r = sqrt(mean(x**2) + 1e-6); L = norm(g * x / r - t)**2",
         "x: n; g: n; t: n", "x, g"),
    Case("layer_norm_eps_variable",
         "mu = sum(x) / n; v = sum((x - mu)**2) / n; L = sum(((x - mu) / sqrt(v + eps))**3)",
         "x: n; eps: scalar", "x"),
]

# Quadratic forms.
QUADRATIC = [
    Case("quadratic_form", "x.T @ A @ x",
         "x: n; A: n,n", "x, A"),
    Case("quadratic_program", "x.T @ A @ x / 2 - b.T @ x",
         "x: n; A: n,n symmetric; b: n", "x, A, b"),
    Case("bilinear", "x.T @ A @ y",
         "x: m; A: m,n; y: n", "x, A, y"),
    Case("generalised_rayleigh", "(x.T @ A @ x) / (x.T @ B @ x)",
         "x: n; A: n,n symmetric; B: n,n symmetric", "x, A, B"),
    Case("inverse_quadratic", "x.T @ inv(A) @ x",
         "x: n; A: n,n", "x, A"),
]

# Log-det and log barriers.
BARRIERS = [
    Case("graphical_lasso_smooth",
         "trace(S @ P) - logdet(P) + lam * sum(sqrt(P**2 + 0.01))",
         "S: n,n symmetric; P: n,n symmetric; lam: scalar", "P, lam"),
    Case("logdet_two_sided", "-logdet(X) - logdet(4 * eye(n) - X) + trace(C @ X)",
         "X: n,n symmetric; C: n,n", "X"),
    Case("bayesian_d_optimal_design", "-logdet(eye(n) + A.T @ diag(exp(u)) @ A)",
         "A: m,n; u: m", "u, A"),
    Case("log_barrier_positive", "c.T @ x - sum(log(x))",
         "c: n; x: n", "x, c"),
    Case("log_barrier_box", "t * c.T @ x - sum(log(x)) - sum(log(2 - x))",
         "c: n; x: n; t: scalar", "x, t"),
]

# Entropy-regularised terms.
ENTROPY = [
    Case("entropy_regularised_linear", "p = softmax(z); L = c.T @ p + tau * dot(p, log(p))",
         "z: n; c: n; tau: scalar", "z, c, tau"),
    Case("entropic_transport",
         "P = exp(Z); L = sum(C * P) + eps * sum(P * log(P) - P)",
         "Z: m,n; C: m,n; eps: scalar", "Z, eps"),
    Case("policy_gradient_entropy_bonus",
         "pi = softmax(W @ s); L = -R * a.T @ log(pi) + beta * dot(pi, log(pi))",
         "W: k,n; s: n; a: k; R: scalar; beta: scalar", "W, beta"),
    Case("max_entropy_moment_penalty",
         "p = softmax(th); L = dot(p, log(p)) + lam * (dot(p, f) - c)**2",
         "th: n; f: n; c: scalar; lam: scalar", "th, c"),
    Case("binary_entropy_predictions",
         "p = sigmoid(X @ w); L = -sum(p * log(p) + (1 - p) * log(1 - p))",
         "X: m,n; w: n", "w"),
]

# Deep compositions: 6 to 10 layers.
DEEP = [
    Case("deep_tanh_6",
         "h1 = tanh(W1 @ x); h2 = tanh(W2 @ h1); h3 = tanh(W3 @ h2); h4 = tanh(W4 @ h3); "
         "h5 = tanh(W5 @ h4); h6 = tanh(W6 @ h5); L = norm(h6 - y)**2",
         "x: n; W1: n,n; W2: n,n; W3: n,n; W4: n,n; W5: n,n; W6: n,n; y: n",
         "W1, W2, W3, W4, W5, W6, x"),
    Case("deep_tanh_8_widths",
         "h1 = tanh(W1 @ x); h2 = tanh(W2 @ h1); h3 = tanh(W3 @ h2); h4 = tanh(W4 @ h3); "
         "h5 = tanh(W5 @ h4); h6 = tanh(W6 @ h5); h7 = tanh(W7 @ h6); z = W8 @ h7; "
         "L = logsumexp(z) - y.T @ z",
         "x: n; W1: h,n; W2: h,h; W3: h,h; W4: h,h; W5: h,h; W6: h,h; W7: h,h; W8: k,h; "
         "y: k", "W1, W4, W8"),
    Case("deep_tanh_nested_inline",
         "norm(tanh(W6 @ tanh(W5 @ tanh(W4 @ tanh(W3 @ tanh(W2 @ tanh(W1 @ x)))))) - y)**2",
         "x: n; W1: h,n; W2: h,h; W3: h,h; W4: h,h; W5: h,h; W6: n,h; y: n",
         "W1, W3, W6"),
    Case("deep_tanh_biases_10",
         "h1 = tanh(W1 @ x + b1); h2 = tanh(W2 @ h1 + b2); h3 = tanh(W2 @ h2 + b3); "
         "h4 = tanh(W2 @ h3 + b4); h5 = tanh(W2 @ h4 + b5); h6 = tanh(W2 @ h5 + b6); "
         "h7 = tanh(W2 @ h6 + b7); h8 = tanh(W2 @ h7 + b8); h9 = tanh(W2 @ h8 + b9); "
         "h10 = tanh(W3 @ h9); L = sum((h10 - y)**2)",
         "x: n; W1: h,n; W2: h,h; W3: k,h; b1: h; b2: h; b3: h; b4: h; b5: h; b6: h; "
         "b7: h; b8: h; b9: h; y: k", "W1, W2, W3, b1, b5, b9"),
    Case("deep_mixed_activations",
         "h1 = relu(W1 @ x); h2 = sigmoid(W2 @ h1); h3 = tanh(W3 @ h2); "
         "h4 = softplus(W4 @ h3); h5 = tanh(W5 @ h4); h6 = sigmoid(W6 @ h5); "
         "L = -sum(y * log(h6) + (1 - y) * log(1 - h6))",
         "x: n; W1: h,n; W2: h,h; W3: h,h; W4: h,h; W5: h,h; W6: k,h; y: k",
         "W1, W2, W3, W4, W5, W6"),
    Case("rnn_shared_weights_6",
         "h1 = tanh(W @ x1 + U @ h0); h2 = tanh(W @ x2 + U @ h1); "
         "h3 = tanh(W @ x3 + U @ h2); h4 = tanh(W @ x4 + U @ h3); "
         "h5 = tanh(W @ x5 + U @ h4); h6 = tanh(W @ x6 + U @ h5); L = norm(V @ h6 - y)**2",
         "x1: n; x2: n; x3: n; x4: n; x5: n; x6: n; h0: h; W: h,n; U: h,h; V: k,h; y: k",
         "W, U, V, h0"),
    Case("deep_residual_tanh_6",
         "h1 = x + tanh(W1 @ x); h2 = h1 + tanh(W2 @ h1); h3 = h2 + tanh(W3 @ h2); "
         "h4 = h3 + tanh(W4 @ h3); h5 = h4 + tanh(W5 @ h4); h6 = h5 + tanh(W6 @ h5); "
         "L = norm(h6 - y)**2 / n",
         "x: n; W1: n,n; W2: n,n; W3: n,n; W4: n,n; W5: n,n; W6: n,n; y: n",
         "W1, W3, W6, x"),
]

# Losses in which one variable appears in several places.
SHARED = [
    Case("shared_vector_many_terms", "w.T @ A @ w + norm(X @ w - y)**2 + sum(exp(w))",
         "w: n; A: n,n; X: m,n; y: m", "w, A, X"),
    Case("siamese_contrastive",
         "d = tanh(W @ x1) - tanh(W @ x2); L = softplus(dot(d, d) - 1)",
         "W: k,n; x1: n; x2: n", "W, x1"),
    Case("cosine_similarity_shared_projection",
         "a = W @ x; b = W @ y; L = -dot(a, b) / (norm(a) * norm(b))",
         "W: k,n; x: n; y: n", "W, x"),
    Case("gp_mean_and_kernel_share_x",
         "K = X @ X.T + eye(n); r = y - X @ w; L = r.T @ inv(K) @ r + logdet(K)",
         "X: n,d; w: d; y: n", "X, w"),
    Case("symmetric_matrix_three_places", "trace(S @ S) - logdet(S) + x.T @ S @ x",
         "S: n,n symmetric; x: n", "S, x"),
    Case("embedding_skipgram_negative",
         "u = E.T @ a; v = E.T @ b; z = E.T @ c; "
         "L = -log(sigmoid(dot(u, v))) - log(sigmoid(-dot(u, z)))",
         "E: n,d; a: n; b: n; c: n", "E"),
]

# Multi-term losses: data terms with penalties.
MULTI_TERM = [
    Case("ls_l2_l1_sum_constraint",
         "norm(X @ w - y)**2 / m + l2 * norm(w)**2 + l1 * sum(sqrt(w**2 + 0.01)) "
         "+ mu * (sum(w) - 1)**2",
         "X: m,n; w: n; y: m; l1: scalar; l2: scalar; mu: scalar", "w, l1, l2, mu"),
    Case("group_lasso_logistic",
         "s = X @ W @ v; "
         "L = sum(softplus(-y * s)) + lam * sum(sqrt(sum(W**2, axis=1) + 0.001))",
         "X: m,n; W: n,k; v: k; y: m; lam: scalar", "W, v"),
    Case("multi_task_relationship",
         "norm(X @ W - Y)**2 + lam * trace(W @ inv(O) @ W.T) + logdet(O)",
         "X: m,n; W: n,k; Y: m,k; O: k,k symmetric; lam: scalar", "W, O"),
    Case("total_variation_denoising",
         "norm(x - y)**2 + lam * sum(sqrt((D @ x)**2 + 0.01))",
         "x: n; y: n; D: p,n; lam: scalar", "x, lam"),
    Case("gan_discriminator",
         "f = tanh(W @ x); g = tanh(W @ (G @ z)); L = softplus(-dot(v, f)) + softplus(dot(v, g))",
         "W: h,n; x: n; G: n,p; z: p; v: h", "W, v, G"),
    Case("regression_with_smoothness_and_prior",
         "r = X @ w - y; L = dot(r, r) + lam * norm(D @ w)**2 + (w - w0).T @ P @ (w - w0)",
         "X: m,n; w: n; y: m; D: p,n; w0: n; P: n,n symmetric; lam: scalar",
         "w, P, w0"),
]

# The operations practitioners asked for and the language once lacked: max over an axis,
# erf, lgamma, eigenvalues, the nuclear norm, the matrix exponential, Kronecker form,
# a Cholesky-factor variable, the matrix logarithm and square root.
NEWER_OPERATIONS = [
    Case("max_stabilised_logsumexp",
         "z = X @ w; c = max(z); L = c + log(sum(exp(z - c)))", "X: m,n; w: n", "w, X"),
    Case("max_pooling_head",
         "P = max(tanh(X @ W), axis=0); L = P @ v", "X: m,n; W: n,k; v: k", "W, v"),
    Case("probit_regression",
         "z = X @ w / sqrt(2); L = -sum(y * log(erfc(-z) / 2) + (1 - y) * log(erfc(z) / 2)) / m",
         "X: m,n; w: n; y: m", "w"),
    Case("dirichlet_log_likelihood",
         "L = lgamma(sum(a)) - sum(lgamma(a)) + sum((a - 1) * log(x))", "a: n; x: n", "a"),
    Case("largest_eigenvalue_of_a_gram_matrix", "L = max(eigvalsh(X.T @ X))", "X: m,n", "X"),
    Case("nuclear_norm_denoising",
         "L = norm(X - Y, 'fro')**2 / 2 + lam * norm(X, 'nuc')",
         "X: m,n; Y: m,n; lam: scalar", "X"),
    Case("trace_of_a_matrix_exponential",
         "L = trace(C @ expm(A) @ Q @ expm(A).T)", "A: n,n; C: n,n; Q: n,n symmetric", "A"),
    Case("least_squares_in_kronecker_form",
         "r = kron(B.T, A) @ vec(X) - vec(C); L = dot(r, r)",
         "A: p,m; X: m,n; B: n,q; C: p,q", "X"),
    Case("cholesky_factor_variable",
         "K = F @ F.T + eye(n); L = logdet(K) + y.T @ inv(K) @ y", "F: n,n lower; y: n", "F, y"),
    Case("log_euclidean_distance",
         "L = norm(logm(A) - B, 'fro')**2", "A: n,n spd; B: n,n symmetric", "A"),
    Case("bures_wasserstein_distance",
         "R = sqrtm(A); L = trace(A) + trace(B) - 2 * trace(sqrtm(R @ B @ R))",
         "A: n,n spd; B: n,n spd", "A, B"),
]

SECTIONS = {
    "linear least squares": LINEAR,
    "logistic regression": LOGISTIC,
    "multinomial logistic regression": MULTINOMIAL,
    "Poisson and log-link GLMs": POISSON,
    "robust (Huber-like) losses": ROBUST,
    "one- and two-layer networks": NETWORKS,
    "autoencoders": AUTOENCODERS,
    "Gaussian likelihoods and processes": GAUSSIAN,
    "Mahalanobis distances": MAHALANOBIS,
    "trace objectives": TRACE,
    "matrix factorisation": FACTORISATION,
    "PCA-style": PCA,
    "attention": ATTENTION,
    "normalisation layers": NORMALISATION,
    "quadratic forms": QUADRATIC,
    "log-det and log barriers": BARRIERS,
    "entropy-regularised": ENTROPY,
    "deep compositions": DEEP,
    "shared variables": SHARED,
    "multi-term losses": MULTI_TERM,
    "the newer operations": NEWER_OPERATIONS,
}

CORPUS = [case for section in SECTIONS.values() for case in section]
