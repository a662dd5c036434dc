"""Fake hi-res: a file stored at a higher sample rate (``upsampled``) or bit depth (``bitpadded``) than its
content. :mod:`.upsampled` and :mod:`.bitdepth` hold the detectors, :mod:`.evidence` what they report."""

from ..detector import DetectorSpec

#: The upsampled-rate detector (finding kind ``upsampled``).
UPSAMPLED = DetectorSpec(name="hires", version="3", kinds=("upsampled",), order=20,
                         implementation="musicforensics.hires.upsampled:HiresDetector", reads_samples=True)
#: The padded bit-depth detector (finding kind ``bitpadded``).
BITDEPTH = DetectorSpec(name="bitdepth", version="2", kinds=("bitpadded",), order=10,
                        implementation="musicforensics.hires.bitdepth:BitDepthDetector", reads_samples=True)
