"""Independent read-back of Contour's SEG and RTSTRUCT output with pydicom (run with /usr/bin/python3).

  seg  FILE ORDER_JSON OUT_RAW   summary as JSON on stdout; the frames placed on the slice order given
                                 (segment number per voxel, higher number wins, uint16 LE) written to OUT_RAW
  rt   FILE                      structure set summary (ROIs, contours, references) as JSON
  pack IN_RAW                    pydicom's pack_bits of a 0/1 uint8 array, as hex
"""
import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.numpy_handler import pack_bits


def code(seq):
    item = seq[0]
    return {'value': str(item.get('CodeValue', item.get('LongCodeValue', ''))), 'scheme': str(item.CodingSchemeDesignator), 'meaning': str(item.CodeMeaning)}


def first_in(groups, keyword):
    for g in groups:
        if g is not None and keyword in g:
            return g
    return None


def seg(path, order_path, out_path):
    ds = pydicom.dcmread(path)
    order = json.load(open(order_path))
    index = {uid: k for k, uid in enumerate(order)}
    arr = ds.pixel_array
    if arr.ndim == 2:
        arr = arr[None]
    label = np.zeros((len(order), ds.Rows, ds.Columns), dtype=np.uint16)
    shared = ds.SharedFunctionalGroupsSequence[0] if 'SharedFunctionalGroupsSequence' in ds else None
    stype = ds.SegmentationType
    overlapping = 0
    frames = []
    for f, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
        src = first_in((fg, shared), 'DerivationImageSequence').DerivationImageSequence[0].SourceImageSequence[0]
        ident = first_in((fg, shared), 'SegmentIdentificationSequence')
        segment = int(ident.SegmentIdentificationSequence[0].ReferencedSegmentNumber) if ident is not None else None
        uid = str(src.ReferencedSOPInstanceUID)
        frames.append({
            'segment': segment,
            'source': uid,
            'sourceClass': str(src.ReferencedSOPClassUID),
            'purpose': code(src.PurposeOfReferenceCodeSequence) if 'PurposeOfReferenceCodeSequence' in src else None,
            'position': [float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient],
            'dimensionIndexValues': [int(v) for v in fg.FrameContentSequence[0].DimensionIndexValues],
            'pixels': int(np.count_nonzero(arr[f])),
        })
        k = index[uid]
        if stype == 'LABELMAP':
            values = arr[f].astype(np.uint16)
        else:
            threshold = float(ds.MaximumFractionalValue) / 2 if stype == 'FRACTIONAL' else 0
            values = np.where(arr[f] > threshold, segment, 0).astype(np.uint16)
        overlapping += int(np.count_nonzero((label[k] != 0) & (values != 0) & (label[k] != values)))
        label[k] = np.maximum(label[k], values)
    label.astype('<u2').tofile(out_path)
    sfg = ds.SharedFunctionalGroupsSequence[0]
    measures = sfg.PixelMeasuresSequence[0]
    print(json.dumps({
        'sopClassUid': str(ds.SOPClassUID),
        'modality': str(ds.Modality),
        'numberOfFrames': int(ds.NumberOfFrames),
        'segmentationType': str(stype),
        'bitsAllocated': int(ds.BitsAllocated),
        'specificCharacterSet': ds.get('SpecificCharacterSet', None),
        'patientName': str(ds.PatientName),
        'studyInstanceUid': str(ds.StudyInstanceUID),
        'frameOfReferenceUid': str(ds.FrameOfReferenceUID),
        'orientation': [float(v) for v in sfg.PlaneOrientationSequence[0].ImageOrientationPatient],
        'pixelSpacing': [float(v) for v in measures.PixelSpacing],
        'sliceThickness': float(measures.SliceThickness),
        'segments': [{
            'number': int(s.SegmentNumber),
            'label': str(s.SegmentLabel),
            'algorithmType': str(s.SegmentAlgorithmType),
            'algorithmName': str(s.get('SegmentAlgorithmName', '')),
            'lab': [int(v) for v in s.RecommendedDisplayCIELabValue] if 'RecommendedDisplayCIELabValue' in s else None,
            'category': code(s.SegmentedPropertyCategoryCodeSequence),
            'type': code(s.SegmentedPropertyTypeCodeSequence),
        } for s in ds.SegmentSequence],
        'referencedInstances': [str(i.ReferencedSOPInstanceUID) for s in ds.get('ReferencedSeriesSequence', []) for i in s.ReferencedInstanceSequence],
        'referencedSeries': [str(s.SeriesInstanceUID) for s in ds.get('ReferencedSeriesSequence', [])],
        'frames': frames,
        'overlappingVoxels': overlapping,
    }))


def rt(path):
    ds = pydicom.dcmread(path)
    refs = []
    for fr in ds.ReferencedFrameOfReferenceSequence:
        for st in fr.RTReferencedStudySequence:
            for se in st.RTReferencedSeriesSequence:
                refs += [str(i.ReferencedSOPInstanceUID) for i in se.ContourImageSequence]
    print(json.dumps({
        'sopClassUid': str(ds.SOPClassUID),
        'modality': str(ds.Modality),
        'structureSetLabel': str(ds.StructureSetLabel),
        'referencedFrameOfReference': str(ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID),
        'contourImages': refs,
        'rois': [{'number': int(r.ROINumber), 'name': str(r.ROIName), 'frameOfReference': str(r.ReferencedFrameOfReferenceUID), 'algorithm': str(r.ROIGenerationAlgorithm)} for r in ds.StructureSetROISequence],
        'contours': [{
            'roi': int(c.ReferencedROINumber),
            'color': [int(v) for v in c.ROIDisplayColor] if 'ROIDisplayColor' in c else None,
            'contours': [{
                'image': str(k.ContourImageSequence[0].ReferencedSOPInstanceUID),
                'type': str(k.ContourGeometricType),
                'count': int(k.NumberOfContourPoints),
                'points': [float(v) for v in k.ContourData],
            } for k in c.get('ContourSequence', [])],
        } for c in ds.ROIContourSequence],
        'observations': [{'roi': int(o.ReferencedROINumber), 'interpretedType': str(o.RTROIInterpretedType or '')} for o in ds.RTROIObservationsSequence],
    }))


def pack(in_path):
    bits = np.fromfile(in_path, dtype=np.uint8)
    print(pack_bits(bits).hex())


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'seg':
        seg(*sys.argv[2:5])
    elif mode == 'rt':
        rt(sys.argv[2])
    elif mode == 'pack':
        pack(sys.argv[2])
    else:
        raise SystemExit(f'unknown mode {mode}')
