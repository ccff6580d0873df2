"""Privacy mechanisms and accounting.

Neighbouring relation: add/remove one example. Replace-one doubles every sensitivity.
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
)
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
    "calibrate_full_batch",
    "calibrate_noise_multiplier",
    "clip_rows",
    "composed_mu",
    "dpsgd_epsilon",
    "dpsgd_event",
    "dpsgd_noise_multiplier",
    "epsilon_of_event",
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
    "spent",
    "symmetric_gaussian_noise",
]
