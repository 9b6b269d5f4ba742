// Hugging Face's own JS Hub client as the reference: snapshotDownload REPO from HUB_URL into
// CACHE_DIR (the huggingface_hub cache layout) and print the snapshot folder.
// usage: node hub_snapshot.mjs HUB_URL ORG/NAME CACHE_DIR [REVISION]
import { snapshotDownload } from "@huggingface/hub";

const [hubUrl, repo, cacheDir, revision] = process.argv.slice(2);
if (!cacheDir) {
  console.error("usage: node hub_snapshot.mjs HUB_URL ORG/NAME CACHE_DIR [REVISION]");
  process.exit(2);
}
console.debug = () => {};   // the client logs every file it downloads
const dir = await snapshotDownload({ repo, hubUrl, cacheDir, revision, accessToken: process.env.HF_TOKEN || undefined });
console.log(dir);
