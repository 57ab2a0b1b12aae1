"""Named constants shared by several engines: the default random seed.

``DEFAULT_SEED`` (20191114, the publication date of Robertson, Hinde & Lavee, BMC Medical Ethics 2019) seeds
every Monte Carlo part unless the user gives ``--seed``; every finding records the seed it used.
"""

from __future__ import annotations

DEFAULT_SEED = 20191114
