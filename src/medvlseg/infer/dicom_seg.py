"""DICOM Segmentation objects (highdicom) referencing the input DICOM series, one segment per label.

The label map is mapped back to the series' own voxel order (`Volume.to_source`: i = column, j = row,
k = file in SimpleITK's slice order), so frame k of the SEG lies on source image k. Segment names and colours
are those of the label-map side files (arteries red, veins blue).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError
from medvlseg.io import Volume
from medvlseg.utils.atomic import atomic_path


def _segment(number: int, name: str):  # type: ignore[no-untyped-def]
    """highdicom SegmentDescription: SNOMED artery/vein/anatomical structure, medvlseg as the AI algorithm."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from medvlseg import __version__
    from medvlseg.infer.writers import colour_for

    lower = name.lower()
    kind = codes.SCT.Artery if "arter" in lower else codes.SCT.Vein if "vein" in lower else \
        codes.SCT.AnatomicalStructure
    algorithm = hd.AlgorithmIdentificationSequence(name="medvlseg", version=__version__,
                                                   family=codes.cid7162.ArtificialIntelligence)
    colour = hd.color.CIELabColor.from_rgb(*colour_for(name, number - 1)) if hasattr(hd, "color") else None
    return hd.seg.SegmentDescription(
        segment_number=number, segment_label=name[:64], segmented_property_category=codes.SCT.AnatomicalStructure,
        segmented_property_type=kind, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm, tracking_uid=hd.UID(), tracking_id=name[:64], display_color=colour)


# Type-2 attributes (present, may be empty) of the Patient and General Study modules that highdicom copies from
# the source images; anonymised series often drop them (DICOM PS3.3 C.7.1.1, C.7.2.1).
TYPE2_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                  "ReferringPhysicianName", "StudyID", "AccessionNumber")


def fill_type2(ds):  # type: ignore[no-untyped-def]
    """The dataset with each missing type-2 attribute of TYPE2_KEYWORDS added empty, as the standard allows."""
    for keyword in TYPE2_KEYWORDS:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def write_dicom_seg(volume: Volume, labels: np.ndarray, names: Sequence[str], path: str | Path) -> Path:
    """Write a binary DICOM-SEG of canonical `labels` (values 1..N = names) referencing `volume`'s series."""
    import pydicom

    from medvlseg.io.dicom import series_files

    if volume.source.kind != "dicom" or volume.path is None:
        raise InputError(volume.path or "input", "--dicom-seg needs a DICOM series folder as input")
    files = series_files(volume.path)
    source = volume.to_source(np.asarray(labels, dtype=np.uint8))  # (i, j, k) = (column, row, file)
    if source.shape[2] != len(files):
        raise InputError(volume.path, f"{len(files)} DICOM files but {source.shape[2]} slices in the volume")
    datasets = [fill_type2(pydicom.dcmread(f)) for f in files]
    frames = np.ascontiguousarray(source.transpose(2, 1, 0))  # (file, row, column)
    try:
        seg = _segmentation(datasets, frames, names)
    except (ValueError, TypeError, AttributeError) as exc:  # highdicom's checks of the source series
        raise InputError(volume.path, f"cannot build a DICOM-SEG on this series: {exc}") from exc
    path = Path(path)
    with atomic_path(path, suffix=".dcm") as tmp:
        seg.save_as(str(tmp))
    return path


def _segmentation(datasets: list, frames: np.ndarray, names: Sequence[str]):  # type: ignore[no-untyped-def]
    """highdicom Segmentation of (file, row, column) label frames, one binary segment per name."""
    import highdicom as hd

    from medvlseg import __version__

    present = list(range(1, len(names) + 1))
    return hd.seg.Segmentation(
        source_images=datasets, pixel_array=frames, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[_segment(v, names[v - 1]) for v in present], series_instance_uid=hd.UID(),
        series_number=9001, sop_instance_uid=hd.UID(), instance_number=1, manufacturer="medvlseg",
        manufacturer_model_name="medvlseg", software_versions=__version__, device_serial_number="0",
        series_description="medvlseg artery/vein", omit_empty_frames=False)
