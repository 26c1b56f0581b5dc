"""Reading documents in the background: several at once, and a file that cannot be read
fails alone, named, with its cause."""

from models import Document, DocumentStatus, JobStatus
from services import document_processing, document_store, i18n, jobs
from tests import documents as samples


def test_a_batch_is_read_and_a_lost_file_fails_alone_with_its_name(app):
    config = app.config
    added = [document_store.add(config, samples.text_pdf(title=f"Facture N° FR-2026-{n:04}"),
                                f"invoice-{n}.pdf", source="upload") for n in range(6)]
    document_store.path_of(config, added[2].file).unlink()  # e.g. a disk restored without it
    job, _ = document_processing.request()
    read = document_processing.run(config, job.id)
    assert sorted(read) == sorted(document.id for document in added)
    lost = Document.get_by_id(added[2].id)
    assert lost.status is DocumentStatus.FAILED
    assert "invoice-2.pdf" in i18n.in_words(lost.extraction_error)
    assert "FileNotFoundError" in i18n.in_words(lost.extraction_error)
    for document in added[:2] + added[3:]:
        document = Document.get_by_id(document.id)
        assert document.status is not DocumentStatus.PROCESSING
        assert document.number == f"FR-2026-{int(document.filename[8]):04}"
    finished = jobs.latest(document_processing.KIND)
    assert finished.status is JobStatus.SUCCEEDED
    assert i18n.in_words(finished.message) == "Read 6 documents."
