"""Privacy mechanisms and accounting.

Neighbouring relation: add/remove one example. Replace-one doubles every sensitivity.
A release's noise is a function of its key: a released model's guarantee assumes the key is
secret and used once (:func:`fresh_key`).
"""

from dptl.privacy.accounting import (
    NEIGHBOURING,
    GaussianRelease,
    PrivacySpent,
    calibrate_full_batch,
    calibrate_noise_multiplier,
    dpsgd_epsilon,
    dpsgd_event,
    dpsgd_noise_multiplier,
    epsilon_of_event,
    make_accountant,
    spent,
)
from dptl.privacy.gdp import (
    composed_mu,
    gaussian_mu,
    gdp_delta,
    gdp_epsilon,
    gdp_mu,
    rdp_closed_form_epsilon,
    rdp_closed_form_mu,
    signal_to_noise,
)
from dptl.privacy.keys import SEEDED_WARNING, fresh_key, training_key
from dptl.privacy.mechanisms import (
    clip_rows,
    gaussian_noise,
    normalize_rows,
    project_psd,
    symmetric_gaussian_noise,
)

__all__ = [
    "NEIGHBOURING",
    "GaussianRelease",
    "PrivacySpent",
    "SEEDED_WARNING",
    "calibrate_full_batch",
    "calibrate_noise_multiplier",
    "clip_rows",
    "composed_mu",
    "dpsgd_epsilon",
    "dpsgd_event",
    "dpsgd_noise_multiplier",
    "epsilon_of_event",
    "fresh_key",
    "gaussian_mu",
    "gaussian_noise",
    "gdp_delta",
    "gdp_epsilon",
    "gdp_mu",
    "make_accountant",
    "normalize_rows",
    "project_psd",
    "rdp_closed_form_epsilon",
    "rdp_closed_form_mu",
    "signal_to_noise",
    "spent",
    "symmetric_gaussian_noise",
    "training_key",
]
