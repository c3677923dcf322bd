// Records the faces of face-api's six demo photos (boxes and lip boxes, found with the stage's worker:
// SSD detector, full landmarks) in scripts/talking-faces.photos.json, with the face-api release and
// each photo's sha256, so that the multi-person test clips and `sample-clips --people` need not load
// the nets to find them (about 8 CPU s). Run it after upgrading @vladmandic/face-api:
//
//   npx tsx scripts/record-photo-faces.ts
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile, writeFile } from 'node:fs/promises';
import { detectPhotoFaces, photoPath, PHOTOS_RECORD, type PhotosRecord } from './talking-faces.ts';

const require = createRequire(import.meta.url);
const faceApi = (JSON.parse(await readFile(require.resolve('@vladmandic/face-api/package.json'), 'utf8')) as { version: string }).version;
const photos: Record<string, PhotosRecord['photos'][string]> = {};
for (const number of [1, 2, 3, 4, 5, 6]) {
  const sha256 = createHash('sha256')
    .update(await readFile(photoPath(number)))
    .digest('hex');
  const photo = await detectPhotoFaces(number);
  photos[String(number)] = { ...photo, sha256 };
  console.log(`sample${number}.jpg: ${photo.faces.length} faces`);
}
const record: PhotosRecord = { faceApi, photos };
await writeFile(PHOTOS_RECORD, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${PHOTOS_RECORD} (face-api ${faceApi})`);
process.exit(0);
