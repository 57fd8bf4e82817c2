/**
 * The addon for tests that drive its primitives directly (receivers, parity oracles): what the
 * loader finds, exactly as the library would find it.
 */
import { loadNative, type NativeBinding, type NativeLoad } from '../../lib/addon';

export const load: NativeLoad = loadNative();

/** The loaded addon; throws with the loader's attempts when it did not load. */
export function addon(): NativeBinding {
  if (!load.binding) throw new Error(`the addon did not load: ${load.attempts.join('; ')}`);
  return load.binding;
}
