/**
 * Where the firmware Cloud Hypervisor boots cloud images with may be, in the order it is looked
 * for: Hearth's own install first, then the distribution's. The VMM layer owns the list; the host
 * report (readiness/) only says whether one is there.
 */
export const FIRMWARE_PATHS = [
  '/usr/lib/hearth/firmware/hypervisor-fw',
  '/usr/lib/hearth/firmware/CLOUDHV.fd',
  '/usr/share/cloud-hypervisor/hypervisor-fw',
  '/usr/share/cloud-hypervisor/CLOUDHV.fd',
] as const;
