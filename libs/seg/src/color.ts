// Display colours: '#rrggbb' (sRGB) <-> DICOM Recommended Display CIELab Value (0062,000D).
//
// DICOM stores CIELab as three unsigned 16-bit integers: L* 0..100 scaled to 0..65535, a* and b* -128..127
// shifted and scaled to 0..65535. The standard speaks of ICC PCS values (D50 white), but the tools people open
// SEGs with (3D Slicer, dcmqi, dcmjs/OHIF) convert with the D65 white point and no chromatic adaptation; the
// liver colour dcmqi wrote into the reference SEG (Slicer's 221,130,101) comes back exactly that way. We follow
// them so a colour survives a round trip through those viewers.

/** D65 reference white (CIE 1931 2°), the white point of sRGB. */
const D65: [number, number, number] = [0.95047, 1.0, 1.08883];

// sRGB primaries to XYZ (IEC 61966-2-1), and its inverse.
const RGB_TO_XYZ = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];
const XYZ_TO_RGB = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.969266, 1.8760108, 0.041556],
  [0.0556434, -0.2040259, 1.0572252],
];

const EPSILON = 216 / 24389; // (6/29)^3
const KAPPA = 24389 / 27; // (29/3)^3

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t: number) => (t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116);
const fInverse = (t: number) => (t ** 3 > EPSILON ? t ** 3 : (116 * t - 16) / KAPPA);
const mul = (m: number[][], v: number[]) => m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);

/** Parses '#rrggbb' (or 'rrggbb') into 0..255 components. */
export function parseHexColor(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) throw new Error(`The colour "${hex}" is not of the form #rrggbb`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

export function toHexColor(rgb: readonly number[]): string {
  return `#${rgb.map((c) => Math.max(0, Math.min(255, Math.round(c))).toString(16).padStart(2, '0')).join('')}`;
}

/** sRGB (0..255 per component) to CIE L*a*b* (D65). */
export function rgbToLab(rgb: readonly number[]): [number, number, number] {
  const xyz = mul(RGB_TO_XYZ, rgb.map((c) => toLinear(c / 255)));
  const [fx, fy, fz] = xyz.map((v, i) => f(v / D65[i]));
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIE L*a*b* (D65) to sRGB 0..255 (rounded, clipped to the gamut). */
export function labToRgb(lab: readonly number[]): [number, number, number] {
  const fy = (lab[0] + 16) / 116;
  const fx = fy + lab[1] / 500;
  const fz = fy - lab[2] / 200;
  const y = lab[0] > KAPPA * EPSILON ? fy ** 3 : lab[0] / KAPPA;
  const xyz = [fInverse(fx) * D65[0], y * D65[1], fInverse(fz) * D65[2]];
  const rgb = mul(XYZ_TO_RGB, xyz).map((c) => Math.round(toGamma(Math.max(0, Math.min(1, c))) * 255));
  return [rgb[0], rgb[1], rgb[2]];
}

/** CIE L*a*b* to the DICOM encoding: L* 0..100 -> 0..65535, a*, b* -128..127 -> 0..65535 (rounded, clamped). */
export function labToDicomLab(lab: readonly number[]): [number, number, number] {
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((lab[0] * 65535) / 100), clamp(((lab[1] + 128) * 65535) / 255), clamp(((lab[2] + 128) * 65535) / 255)];
}

export function dicomLabToLab(dicomLab: readonly number[]): [number, number, number] {
  return [(dicomLab[0] * 100) / 65535, (dicomLab[1] * 255) / 65535 - 128, (dicomLab[2] * 255) / 65535 - 128];
}

/** '#rrggbb' -> Recommended Display CIELab Value. */
export function hexToDicomLab(hex: string): [number, number, number] {
  return labToDicomLab(rgbToLab(parseHexColor(hex)));
}

/** Recommended Display CIELab Value -> '#rrggbb'. */
export function dicomLabToHex(dicomLab: readonly number[]): string {
  return toHexColor(labToRgb(dicomLabToLab(dicomLab)));
}
