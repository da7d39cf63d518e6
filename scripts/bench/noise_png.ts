/**
 * The bench's upstream image: colour gradients under ±32 of seeded noise per channel, saved as a
 * PNG with fast deflate. Lossless compression gains nothing on the noise, so a 1024x1024 image
 * weighs ~3.3 MB (base64 ~4.4 MB), at least what a detailed generated image weighs; lossy JPEG
 * drops the noise as it does a photo's grain, so previews cost what a real image's cost (pure noise
 * would make every preview an outlier).
 *
 * @module
 */
import sharp from "sharp";

/** Encodes a `width`x`height` gradient with seeded noise as a PNG. */
export async function noisePng(
  width: number,
  height: number,
  seed = 0x2545f491,
): Promise<Uint8Array> {
  const pixels = new Uint8ClampedArray(width * height * 3);
  // xorshift32: cheap, deterministic and, for deflate, as good as random.
  let state = seed >>> 0 || 1;
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = [x * 255 / width, y * 255 / height, (x + y) * 127 / width];
      for (const channel of base) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        pixels[i++] = channel + ((state & 0xffff) / 0xffff * 2 - 1) * 32;
      }
    }
  }
  const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
