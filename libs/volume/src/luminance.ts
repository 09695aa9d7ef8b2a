// Colour pixels as one value each. A volume of real values is scalar (NIfTI, the viewer, masks and pre-labelling
// all count one value per voxel), so a colour image (ultrasound, endoscopy, a secondary capture) is stacked as its
// luminance: the series volume and the volume of one image by itself use this same formula, so a task sees the same
// picture whichever of the two it is drawn on.

/**
 * The luminance of `pixels` interleaved colour pixels of `src` (`samplesPerPixel` values each) into `out` from
 * `base`: ITU-R BT.601 (0.299 R + 0.587 G + 0.114 B) for RGB, which is what decoding gives for the colour it
 * converts; colour that stays YBR (`photometric` YBR_*) already carries it in its first sample (Y).
 */
export function luminanceInto(src: ArrayLike<number>, samplesPerPixel: number, photometric: string, out: Float32Array, base: number, pixels = Math.floor(src.length / samplesPerPixel)): void {
  if (photometric.trim().startsWith('YBR')) {
    for (let i = 0, j = 0; i < pixels; i++, j += samplesPerPixel) out[base + i] = src[j];
    return;
  }
  for (let i = 0, j = 0; i < pixels; i++, j += samplesPerPixel) out[base + i] = 0.299 * src[j] + 0.587 * src[j + 1] + 0.114 * src[j + 2];
}
