import { useState } from 'react';
import type { ImageInfo } from '#protocol';
import { Button } from '../../ui/Button.js';
import { formatBytes } from '../environments/format.js';
import { useDeleteImage } from './queries.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const ORIGIN: Record<ImageInfo['origin'], string> = {
  catalog: 'downloaded',
  'local-build': 'built locally',
  'install-image': 'installed from files',
};

/**
 * The images environments can be created from. Admins may delete one; hearthd refuses (409) while
 * environments use it, and that answer is shown on the image's own row, where it is about.
 */
export function InstalledImages(props: { images: ImageInfo[]; canDelete: boolean }) {
  const remove = useDeleteImage();
  const [failed, setFailed] = useState<{ name: string; message: string } | null>(null);
  if (props.images.length === 0) {
    return (
      <p className="muted" data-testid="no-images">
        No images are installed yet: download one or build one locally (below).
      </p>
    );
  }
  return (
    <table className="settings-table" data-testid="installed-images">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">System</th>
          <th scope="col">Size</th>
          <th scope="col">Boot</th>
          <th scope="col">Set up by</th>
          <th scope="col">Used by</th>
          {props.canDelete && (
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {props.images.map((image) => (
          <tr key={image.name} data-image={image.name}>
            <th scope="row">
              {image.name}
              <span className="muted small image-origin"> ({ORIGIN[image.origin]})</span>
            </th>
            <td>{image.os.pretty}</td>
            <td>{formatBytes(image.sizeBytes)}</td>
            <td>{image.bootMode === 'firmware' ? 'firmware' : 'kernel'}</td>
            <td>{image.provisioning === 'cloud-init' ? 'cloud-init' : 'nothing (no network)'}</td>
            <td data-testid="used-by">
              {image.usedBy === 0 ? 'none' : `${image.usedBy} environment${image.usedBy === 1 ? '' : 's'}`}
            </td>
            {props.canDelete && (
              <td className="settings-row-actions">
                <Button
                  small
                  variant="ghost"
                  className="btn-danger"
                  disabled={remove.isPending && remove.variables === image.name}
                  aria-label={`Delete ${image.name}`}
                  aria-describedby={failed?.name === image.name ? `image-error-${image.name}` : undefined}
                  onClick={() => {
                    setFailed(null);
                    remove.mutate(image.name, {
                      onError: (error) => setFailed({ name: image.name, message: message(error) }),
                    });
                  }}
                >
                  Delete
                </Button>
                {failed?.name === image.name && (
                  <p
                    className="field-error image-error"
                    id={`image-error-${image.name}`}
                    role="alert"
                    data-testid="image-delete-error"
                  >
                    {failed.message}
                  </p>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
