import type { PackageManager, Remedy } from '#protocol';

/** Tools Hearth needs from the distro, by package manager. */
export type Tool = 'qemu' | 'qemu-img' | 'nftables' | 'iproute' | 'dnsmasq';

const packageNames: Record<Tool, Record<Exclude<PackageManager, 'unknown'>, string>> = {
  qemu: { apt: 'qemu-system-x86', dnf: 'qemu-system-x86-core', pacman: 'qemu-base', zypper: 'qemu-x86' },
  'qemu-img': { apt: 'qemu-utils', dnf: 'qemu-img', pacman: 'qemu-img', zypper: 'qemu-tools' },
  nftables: { apt: 'nftables', dnf: 'nftables', pacman: 'nftables', zypper: 'nftables' },
  iproute: { apt: 'iproute2', dnf: 'iproute', pacman: 'iproute2', zypper: 'iproute2' },
  dnsmasq: { apt: 'dnsmasq-base', dnf: 'dnsmasq', pacman: 'dnsmasq', zypper: 'dnsmasq' },
};

const installCommand: Record<Exclude<PackageManager, 'unknown'>, string> = {
  apt: 'sudo apt-get install -y',
  dnf: 'sudo dnf install -y',
  pacman: 'sudo pacman -S --needed',
  zypper: 'sudo zypper install -y',
};

export function installRemedy(manager: PackageManager, tool: Tool, why: string): Remedy {
  if (manager === 'unknown') {
    return { summary: `${why} Install ${tool} with your distribution's package manager.` };
  }
  const pkg = packageNames[tool][manager];
  return { summary: `${why} Install the ${pkg} package.`, command: `${installCommand[manager]} ${pkg}` };
}

export function modprobeRemedy(modules: readonly string[], why: string): Remedy {
  const list = modules.join(' ');
  return {
    summary: `${why} Load ${modules.length === 1 ? 'the module' : 'the modules'} now and at every boot.`,
    command: `sudo modprobe -a ${list} && printf '%s\\n' ${list} | sudo tee /etc/modules-load.d/hearth.conf`,
  };
}
