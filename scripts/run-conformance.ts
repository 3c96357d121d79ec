// `npm run conformance`: see scripts/conformance.ts.
import { main } from "./conformance.js"

await main()
