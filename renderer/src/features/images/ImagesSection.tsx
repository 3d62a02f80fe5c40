import { AdminNote } from '../settings/AdminNote.js';
import { useImages } from '../environments/queries.js';
import { ImageSources } from './ImageSources.js';
import { InstalledImages } from './InstalledImages.js';
import './images.css';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Settings → Images: what is installed, and where more come from. Admins change them; members read. */
export function ImagesSection(props: { connected: boolean; admin: boolean | undefined }) {
  const images = useImages(props.connected);
  const canChange = props.connected && props.admin !== false;
  return (
    <section className="card" aria-labelledby="images-title" data-testid="images">
      <div className="card-head">
        <div>
          <h2 id="images-title">Images</h2>
          <p className="muted small">The systems environments are created from. An image in use cannot be deleted.</p>
        </div>
      </div>
      <AdminNote admin={props.admin} />
      {images.error && (
        <div className="banner banner-fail" role="alert">
          {message(images.error)}
        </div>
      )}
      {images.data && <InstalledImages images={images.data} canDelete={canChange} />}
      <ImageSources connected={props.connected} canChange={canChange} />
    </section>
  );
}
