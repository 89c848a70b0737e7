"""The label schemes shared by training, prediction and evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from medvlseg.data.label_scheme import FIVE, THREE, default_names, label_scheme, scheme_for_mode
from medvlseg.data.labels import to_three_class
from medvlseg.errors import ConfigError
from medvlseg.train.config import TrainConfig


def test_schemes_agree_with_label_conversion_and_train_config() -> None:
    assert label_scheme(5) is FIVE and label_scheme(3) is THREE
    with pytest.raises(ConfigError, match="3 or 5"):
        label_scheme(4)
    assert scheme_for_mode("3class") is THREE and TrainConfig(label_mode="3class").num_classes == 2
    assert TrainConfig().scheme is FIVE and TrainConfig().num_classes == FIVE.num_foreground == 4
    # merging the 5-class groups is exactly what to_three_class does to label values
    five = np.arange(5, dtype=np.uint8)
    for three_value, group in enumerate(FIVE.groups_3, start=1):
        assert all(to_three_class(five)[c + 1] == three_value for c in group)
    assert FIVE.names[0] == "left pulmonary artery" and THREE.short_names == ("artery", "vein")
    assert default_names(4) == list(FIVE.names) and default_names(2) == list(THREE.names)
    assert default_names(3) == ["class 1", "class 2", "class 3"]
