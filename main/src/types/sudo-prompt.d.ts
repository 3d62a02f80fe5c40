declare module 'sudo-prompt' {
  export function exec(
    command: string,
    options: { name: string; icns?: string; env?: Record<string, string> },
    callback: (error?: Error, stdout?: string | Buffer, stderr?: string | Buffer) => void,
  ): void;
}
